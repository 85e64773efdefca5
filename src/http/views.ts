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
}

export type RenderView = (view: string, model: Record<string, unknown>) => Promise<string>;

/** Server-rendered pages: ejs templates under views/ receiving prepared view-models (always HTML-escaped). */
export function createViewRenderer(globals: ViewGlobals, cache: boolean): RenderView {
  return (view, model) =>
    ejs.renderFile(join(viewsDir, `${view}.ejs`), { ...globals, ...model }, { cache, async: false, root: viewsDir });
}
