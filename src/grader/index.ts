/**
 * OpenAI-compatible helpers for scoring (seed 001's optional grader): the LLM accuracy grader and
 * /embeddings similarity. Reached by plugins through `api.loadGrader()`; the `openai` SDK loads only
 * when a request is made.
 */
export {LlmGrader, parseVerdict, graderUserMessage, GRADER_SYSTEM_PROMPT} from './llm-grader'
export type {LlmGraderConfig, GradeQuestion, GraderStats} from './llm-grader'
export {EmbeddingsClient, cosine} from './embeddings'
export type {EmbeddingsConfig} from './embeddings'
