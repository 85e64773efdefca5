import { join } from 'node:path';
import ejs from 'ejs';
import { viewsDir } from '../config/paths.js';
import type { Text } from './text/en.js';

export interface ViewGlobals {
  readonly productName: string;
  /** The brand logo shown in the page header, or null. */
  readonly logoUrl: string | null;
  /** The pages' text (src/http/text). */
  readonly t: Text;
  /** What a new password must be (PasswordPolicy, worded by the text), for the forms that set one. */
  readonly passwordRule: string;
}

export type RenderView = (view: string, model: Record<string, unknown>) => Promise<string>;

/** An element a sentence of the text puts around one of its parameters (`<strong>`, `<time>`). */
export interface Markup {
  readonly tag: string;
  readonly content: string | number;
  readonly attributes: Readonly<Record<string, string>>;
}

const TAG = /^[a-z][a-z0-9]*$/;
const ATTRIBUTE = /^[a-z][a-z0-9-]*$/;

/** `el('strong', clientName)`: an element for `rich`, its content and attributes escaped when it is rendered. */
export function el(tag: string, content: string | number, attributes: Readonly<Record<string, string>> = {}): Markup {
  if (!TAG.test(tag) || !Object.keys(attributes).every((name) => ATTRIBUTE.test(name))) throw new Error(`not an element for rich(): ${tag}`);
  return { tag, content, attributes };
}

const isMarkup = (value: unknown): value is Markup => typeof value === 'object' && value !== null && 'tag' in value && 'content' in value;
const escape = (value: string | number) => ejs.escapeXML(String(value));
// Private-use characters, which no text contains and escaping leaves alone.
const slot = (index: number) => `\uE000${index}\uE001`;

/**
 * A sentence of the text with markup around some of its parameters, as HTML: `rich(t.signIn.toContinue,
 * el('strong', clientName))`. The text function is called with a placeholder for each Markup argument (other
 * arguments are passed as they are); its result is escaped, then each placeholder becomes its element. So the
 * translation decides where the element stands, and neither the text nor the parameters can inject markup.
 */
export function rich<A extends unknown[]>(sentence: (...args: A) => string, ...args: { [K in keyof A]: A[K] | Markup }): string {
  const parts: Markup[] = [];
  const called = args.map((arg) => (isMarkup(arg) ? slot(parts.push(arg) - 1) : arg)) as A;
  return escape(sentence(...called)).replace(/\uE000(\d+)\uE001/g, (_, index: string) => {
    const { tag, content, attributes } = parts[Number(index)]!;
    const attrs = Object.entries(attributes).map(([name, value]) => ` ${name}="${escape(value)}"`).join('');
    return `<${tag}${attrs}>${escape(content)}</${tag}>`;
  });
}

/** Server-rendered pages: ejs templates under views/ receiving prepared view-models (always HTML-escaped). */
export function createViewRenderer(globals: ViewGlobals, cache: boolean): RenderView {
  const helpers = { rich, el };
  return (view, model) =>
    ejs.renderFile(join(viewsDir, `${view}.ejs`), { ...helpers, ...globals, ...model }, { cache, async: false, root: viewsDir });
}
