/**
 * The sft plugin's dataset library for its tests, imported from its compiled dist with the types of its
 * .d.ts (`npm run compile` builds the plugin before its tests), so a changed signature fails the build.
 */
export * as sft from '../dist/dataset'
