export type SpatialTask = 'relation' | 'count' | 'color' | 'multiple_choice'
