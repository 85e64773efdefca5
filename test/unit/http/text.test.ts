import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { viewsDir } from '../../../src/config/paths.js';
import { en, type Text } from '../../../src/http/text/en.js';
import { el, rich } from '../../../src/http/views.js';

// "Text kept in one place so it can be translated": every word a page shows comes from src/http/text (`t` in the
// views). These checks read the templates as text; they run nothing.

interface Finding {
  readonly line: number;
  readonly text: string;
}

/** Attributes a user sees or hears (screen readers); every other attribute is markup (class, href, type, ...). */
const VISIBLE_ATTRIBUTES = new Set(['title', 'alt', 'aria-label', 'aria-description', 'aria-placeholder', 'aria-roledescription', 'aria-valuetext', 'placeholder', 'label']);
/** Inputs whose value is their visible caption. */
const CAPTION_INPUTS = new Set(['submit', 'button', 'reset']);
/** Elements whose content is not text (and may hold "<" freely). */
const RAW_TEXT = new Set(['script', 'style']);

const ENTITY = /&(?:[a-z][a-z0-9]*|#\d+|#x[0-9a-f]+);/gi;
const hasLetters = (text: string) => /\p{L}/u.test(text.replace(ENTITY, ' '));
const lineOf = (source: string, index: number) => source.slice(0, index).split('\n').length;
/** The template with its ejs tags blanked out (same length and lines), so what is left is the literal markup. */
const blankTags = (source: string) => source.replace(/<%[\s\S]*?%>/g, (tag) => tag.replace(/[^\n]/g, ' '));

/** Literal letters a template shows outside its ejs tags: in text nodes and in visible attributes. */
export function literalText(source: string): Finding[] {
  const markup = blankTags(source).replace(/<!--[\s\S]*?-->|<!doctype[^>]*>/gi, (skipped) => skipped.replace(/[^\n]/g, ' '));
  const findings: Finding[] = [];
  const report = (index: number, text: string) => findings.push({ line: lineOf(markup, index), text: text.trim().replace(/\s+/g, ' ') });
  let at = 0;
  while (at < markup.length) {
    const open = markup.slice(at).search(/<\/?[a-z]/i);
    const textEnd = open === -1 ? markup.length : at + open;
    if (hasLetters(markup.slice(at, textEnd))) report(at, markup.slice(at, textEnd));
    if (open === -1) break;
    // A tag: its name, then attributes up to the ">" that is not inside quotes.
    const tag = /^<(\/?)([a-z][a-z0-9-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>?/i.exec(markup.slice(textEnd))!;
    const [whole, closing, rawName, rawAttributes] = tag;
    const name = rawName!.toLowerCase();
    const attributes = [...rawAttributes!.matchAll(/([^\s"'=<>/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g)].map((m) => ({
      name: m[1]!.toLowerCase(),
      value: m[2] ?? m[3] ?? m[4] ?? '',
      index: textEnd + 1 + name.length + m.index!,
    }));
    const type = attributes.find((a) => a.name === 'type')?.value.trim().toLowerCase() ?? '';
    for (const attribute of attributes) {
      const visible = VISIBLE_ATTRIBUTES.has(attribute.name) || (attribute.name === 'value' && name === 'input' && CAPTION_INPUTS.has(type));
      if (visible && hasLetters(attribute.value)) report(attribute.index, `${attribute.name}="${attribute.value}"`);
    }
    at = textEnd + whole.length;
    if (!closing && RAW_TEXT.has(name)) {
      const end = markup.slice(at).search(new RegExp(`</${name}\\s*>`, 'i'));
      at = end === -1 ? markup.length : at + end;
    }
  }
  return findings;
}

/**
 * Words in the templates' own code: a string literal in an ejs tag that reads as prose (two words, or a capitalised
 * word), such as `include('partials/head', { title: 'Sign in' })` or `<%= done ? 'Yes' : 'No' %>`. Markup in strings
 * (attributes, paths) is code, not prose.
 */
export function proseInCode(source: string): Finding[] {
  const findings: Finding[] = [];
  for (const tag of source.matchAll(/<%(?!#)[\s\S]*?%>/g)) {
    for (const literal of tag[0].matchAll(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g)) {
      const body = literal[0].slice(1, -1).replace(/\$\{[^}]*\}/g, ' ');
      if (/[=<>/]/.test(body)) continue;
      if (/\p{L}{2,}\s+\p{L}{2,}/u.test(body) || /^\s*\p{Lu}\p{Ll}/u.test(body)) {
        findings.push({ line: lineOf(source, tag.index! + literal.index!), text: literal[0] });
      }
    }
  }
  return findings;
}

/**
 * The paths of the text a template reads: `t.a.b`, `t.a['b-c']`, and through an alias (`const f = t.clients.fields;`
 * then `f.name.label`). A computed key (`t.a[key]`) ends the path: the part before it must exist.
 */
export function textPaths(source: string): { line: number; path: string[] }[] {
  const code = [...source.matchAll(/<%(?!#)[\s\S]*?%>/g)];
  const aliases = new Map<string, string[]>([['t', []]]);
  for (const tag of code) {
    for (const alias of tag[0].matchAll(/\b(?:const|let)\s+([A-Za-z_$][\w$]*)\s*=\s*t((?:\.[A-Za-z_$][\w$]*|\[(?:'[^']*'|"[^"]*")\])*)\s*[;,\n]/g)) {
      aliases.set(alias[1]!, segments(alias[2]!));
    }
  }
  const found: { line: number; path: string[] }[] = [];
  const names = [...aliases.keys()].map((n) => n.replace(/\$/g, '\\$')).join('|');
  const reference = new RegExp(`(?<![\\w$.])(${names})((?:\\.[A-Za-z_$][\\w$]*|\\[(?:'[^']*'|"[^"]*")\\])+)`, 'g');
  for (const tag of code) {
    for (const ref of tag[0].matchAll(reference)) {
      found.push({ line: lineOf(source, tag.index! + ref.index!), path: [...aliases.get(ref[1]!)!, ...segments(ref[2]!)] });
    }
  }
  return found;
}

function segments(accessors: string): string[] {
  return [...accessors.matchAll(/\.([A-Za-z_$][\w$]*)|\[(?:'([^']*)'|"([^"]*)")\]/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/** Whether the text has this path (a function ends it: what follows is its result, such as `.replace`). */
export function hasPath(text: unknown, path: readonly string[]): boolean {
  let node = text;
  for (const key of path) {
    if (typeof node === 'function' || typeof node === 'string') return true;
    if (typeof node !== 'object' || node === null || !Object.prototype.hasOwnProperty.call(node, key)) return false;
    node = (node as Record<string, unknown>)[key];
  }
  return node !== undefined;
}

function templates(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? templates(path) : path.endsWith('.ejs') ? [path] : [];
  });
}

const views = templates(viewsDir).map((path) => ({ name: relative(viewsDir, path), source: readFileSync(path, 'utf8') }));
const describeFindings = (check: (source: string) => Finding[]) =>
  views.flatMap((view) => check(view.source).map((f) => `${view.name}:${f.line}: ${f.text}`));

describe('page text (src/http/text)', () => {
  it('finds the templates, partials included', () => {
    expect(views.length).toBeGreaterThan(30);
    expect(views.some((v) => v.name.startsWith('partials/'))).toBe(true);
  });

  it('leaves no literal words in the templates: every text and visible attribute comes from t', () => {
    expect(describeFindings(literalText)).toEqual([]);
  });

  it('leaves no prose in the templates\' code either (titles handed to partials, yes/no choices)', () => {
    expect(describeFindings(proseInCode)).toEqual([]);
  });

  it('has every text a template reads', () => {
    const missing = views.flatMap((view) => textPaths(view.source).filter((ref) => !hasPath(en, ref.path)).map((ref) => `${view.name}:${ref.line}: t.${ref.path.join('.')}`));
    expect(missing).toEqual([]);
    // The check sees the templates' references at all.
    expect(views.flatMap((view) => textPaths(view.source)).length).toBeGreaterThan(200);
  });

  it('lets a translation be another object of the same shape', () => {
    // A compile-time check as much as a test: `Text` admits other strings and other wording of the functions.
    const other: Text = { ...en, lang: 'de', signIn: { ...en.signIn, title: 'Anmelden', toContinue: (client) => `weiter zu ${client}` } };
    expect(rich(other.signIn.toContinue, el('strong', 'Notizen'))).toBe('weiter zu <strong>Notizen</strong>');
  });

  it('renders markup around a parameter with rich(), escaping the sentence, the parameter and the attributes', () => {
    expect(rich(en.signIn.toContinue, el('strong', 'Notes & <Co>'))).toBe('to continue to <strong>Notes &amp; &lt;Co&gt;</strong>');
    expect(rich((who: string) => `<b>${who}</b> & more`, el('em', 'x'))).toBe('&lt;b&gt;<em>x</em>&lt;/b&gt; &amp; more');
    expect(rich(en.security.codesLeft, 1, el('strong', 1, { id: 'left"' }))).toBe('You have <strong id="left&#34;">1</strong> unused recovery code.');
    expect(rich(en.sessionLimit.facts, '10.0.0.1', el('time', 'a', { datetime: 'a' }), el('time', 'b', { datetime: 'b' })))
      .toBe('IP 10.0.0.1 · last active <time datetime="a">a</time> · signed in <time datetime="b">b</time>');
    expect(() => el('img onerror=x', 'y')).toThrow();
    expect(() => el('strong', 'y', { 'on"x': 'z' })).toThrow();
  });

  describe('the checks themselves', () => {
    it('find literal words in text, in visible attributes and in the caption of a submit input', () => {
      expect(literalText('<main>\n  <p>Hello</p>\n</main>')).toEqual([{ line: 2, text: 'Hello' }]);
      expect(literalText('<button type="submit" class="primary">Sign in</button>')).toEqual([{ line: 1, text: 'Sign in' }]);
      expect(literalText('<p><%= t.a %> and <%= t.b %></p>').map((f) => f.text)).toEqual(['and']);
      expect(literalText('<img src="/x.svg" alt="Logo">').map((f) => f.text)).toEqual(['alt="Logo"']);
      expect(literalText('<nav aria-label="Main">').map((f) => f.text)).toEqual(['aria-label="Main"']);
      expect(literalText('<input name="since" placeholder="2026-01-31T12:00">').map((f) => f.text)).toEqual(['placeholder="2026-01-31T12:00"']);
      expect(literalText('<input type="submit" value="Go">').map((f) => f.text)).toEqual(['value="Go"']);
      expect(literalText('<p>Übersicht</p>').map((f) => f.text)).toEqual(['Übersicht']);
    });

    it('leave ejs output, punctuation, entities, markup attributes and data values alone', () => {
      const clean = [
        '<!DOCTYPE html>\n<html lang="<%= t.lang %>">',
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
        '<title><%= title %> · <%= productName %></title>',
        '<p class="breadcrumb"><a href="/account"><%= t.frame.account %></a> › <a href="/x">&nbsp;&amp;</a></p>',
        '<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]*" value="<%= code %>">',
        '<input type="hidden" name="remember" value="yes">',
        '<form method="post" action="/account/logout" novalidate><button type="submit" class="link"><%= t.frame.signOut %></button></form>',
        '<%# A comment says why, in words. %><p><% if (x) { %>·<% } %></p>',
        '<select name="type"><option value="user.created"<% if (x) { %> selected<% } %>><%= type %></option></select>',
        '<script>const words = "not text";</script>',
      ];
      for (const source of clean) expect(literalText(source)).toEqual([]);
    });

    it('find prose in template code, not code', () => {
      expect(proseInCode("<%- include('partials/head', { title: 'Confirm it is you' }) %>").map((f) => f.text)).toEqual(["'Confirm it is you'"]);
      expect(proseInCode("<%= remember ? 'Yes' : t.no %>").map((f) => f.text)).toEqual(["'Yes'"]);
      const code = [
        "<%- include('partials/head', { title: t.account.title, wide: true }) %>",
        "<% const fields = ['current_password', 'new_password']; %>",
        '<% const invalid = (name) => ` aria-invalid="true" aria-describedby="${name}-error"`; %>',
        "<%= at.toISOString().replace('T', ' ').slice(0, 19) %>",
        "<%= values.join(', ') %><%= kind === 'client_secret_basic' ? 'secondary' : 'danger' %>",
      ];
      for (const source of code) expect(proseInCode(source)).toEqual([]);
    });

    it('resolve text paths, aliases and literal keys, and notice one that does not exist', () => {
      const source = "<% const f = t.clients.fields; %><%= f['client-type'].label %><%= t.console.sections[key] %><%= t.nowhere.title %><%= t.console.pager.showing.replace('{first}', 1) %>";
      const paths = textPaths(source).map((ref) => ref.path.join('.'));
      expect(paths).toEqual(['clients.fields', 'clients.fields.client-type.label', 'console.sections', 'nowhere.title', 'console.pager.showing.replace']);
      expect(paths.filter((path) => !hasPath(en, path.split('.')))).toEqual(['nowhere.title']);
    });
  });
});
