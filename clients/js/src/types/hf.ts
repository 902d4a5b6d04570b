/** Hugging Face task inputs and outputs, as the gateway sends them (HF's field names). */

export interface TextGenerationParameters {
  max_new_tokens?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  repetition_penalty?: number;
  frequency_penalty?: number;
  stop?: string[];
  stop_sequences?: string[];
  seed?: number;
  do_sample?: boolean;
  return_full_text?: boolean;
  details?: boolean;
  [extra: string]: unknown;
}

export type FinishReason = "length" | "eos_token" | "stop_sequence";

export interface TextGenerationDetails {
  finish_reason: FinishReason;
  generated_tokens: number;
  seed: number | null;
  prefill: unknown[];
  tokens: unknown[];
}

/** One element of text-generation's answer. */
export interface TextGenerationOutput {
  generated_text: string;
  details?: TextGenerationDetails;
}

/** text-generation's answer: HF's list (`output`), plus its only element's fields. */
export interface TextGenerationResponse extends TextGenerationOutput {
  output: TextGenerationOutput[];
}

export interface TextGenerationStreamToken {
  id: number;
  text: string;
  logprob: number | null;
  special: boolean;
}

/** One TGI token event; the last one carries `generated_text` and `details`. */
export interface TextGenerationStreamOutput {
  index: number;
  token: TextGenerationStreamToken;
  generated_text: string | null;
  details: TextGenerationDetails | null;
}

export interface ConversationalMessage {
  role: string;
  content: string;
}

export type ConversationalOutput = Array<{ generated_text: string }>;

export interface SummarizationParameters {
  max_length?: number;
  min_length?: number;
  clean_up_tokenization_spaces?: boolean;
  truncation?: string;
  generate_parameters?: Record<string, unknown>;
  [extra: string]: unknown;
}

export type SummarizationOutput = Array<{ summary_text: string }>;

export interface TranslationParameters {
  src_lang?: string;
  tgt_lang?: string;
  clean_up_tokenization_spaces?: boolean;
  truncation?: string;
  generate_parameters?: Record<string, unknown>;
  [extra: string]: unknown;
}

export type TranslationOutput = Array<{ translation_text: string }>;

export interface QuestionAnsweringInput {
  question: string;
  context: string;
}

export interface QuestionAnsweringParameters {
  top_k?: number;
  doc_stride?: number;
  max_answer_len?: number;
  [extra: string]: unknown;
}

/** The best answer: a span `context.slice(start, end)`. */
export interface QuestionAnsweringOutput {
  answer: string;
  score: number;
  start: number;
  end: number;
}

export interface LabelScore {
  label: string;
  score: number;
}

export interface TextClassificationParameters {
  top_k?: number;
  function_to_apply?: "sigmoid" | "softmax" | "none";
  [extra: string]: unknown;
}

/** One list of labels per input, best first. */
export type TextClassificationOutput = LabelScore[][];

export interface TokenClassificationParameters {
  aggregation_strategy?: "none" | "simple" | "first" | "average" | "max";
  ignore_labels?: string[];
  stride?: number;
  [extra: string]: unknown;
}

/** An entity: `inputs.slice(start, end) === word`. */
export interface TokenClassificationEntity {
  entity_group: string;
  score: number;
  word: string;
  start: number;
  end: number;
}

export type TokenClassificationOutput = TokenClassificationEntity[];

export interface FeatureExtractionParameters {
  normalize?: boolean;
  prompt_name?: string;
  truncate?: boolean;
  truncation_direction?: "left" | "right" | "Left" | "Right";
  [extra: string]: unknown;
}

/** One vector per input text. */
export type FeatureExtractionOutput = number[][];

export interface SentenceSimilarityInput {
  source_sentence: string;
  sentences: string[];
}

/** One similarity per sentence, in order. */
export type SentenceSimilarityOutput = number[];

export interface FillMaskParameters {
  top_k?: number;
  targets?: string[];
  [extra: string]: unknown;
}

export interface FillMaskCandidate {
  score: number;
  token: number;
  token_str: string;
  sequence: string;
}

export type FillMaskOutput = FillMaskCandidate[];

export interface ZeroShotClassificationParameters {
  candidate_labels: string[];
  multi_label?: boolean;
  hypothesis_template?: string;
  [extra: string]: unknown;
}

/** Every candidate label with its score, best first. */
export type ZeroShotClassificationOutput = LabelScore[];

export interface TextToImageParameters {
  width?: number;
  height?: number;
  seed?: number;
  num_inference_steps?: number;
  guidance_scale?: number;
  negative_prompt?: string;
  scheduler?: string;
  [extra: string]: unknown;
}

/** The task names the gateway serves, as Hugging Face spells them. */
export type Task =
  | "conversational"
  | "text-generation"
  | "summarization"
  | "translation"
  | "question-answering"
  | "text-classification"
  | "token-classification"
  | "feature-extraction"
  | "sentence-similarity"
  | "fill-mask"
  | "zero-shot-classification"
  | "text-to-image";
