// A small, safe Markdown parser for model answers. It returns a tree of plain data, never HTML:
// the view renders text as text nodes, so nothing the model writes can become markup or script.
// It covers what answers use: paragraphs, headings, bold/italic, code, lists, quotes, links and
// the `[n]` citation markers that point at sources.

export type Inline =
  | { t: 'text'; v: string }
  | { t: 'code'; v: string }
  | { t: 'strong'; c: Inline[] }
  | { t: 'em'; c: Inline[] }
  | { t: 'link'; href: string; c: Inline[] }
  | { t: 'cite'; n: number }
  | { t: 'br' };

export type Block =
  | { t: 'p'; c: Inline[] }
  | { t: 'h'; level: number; c: Inline[] }
  | { t: 'code'; lang: string; v: string }
  | { t: 'list'; ordered: boolean; start: number; items: Block[][] }
  | { t: 'quote'; c: Block[] }
  | { t: 'hr' };

const SAFE_URL = /^(https?:|mailto:|\/(?!\/)|#)/i;

/** Only web, mail and same-site links survive; `javascript:` and friends become plain text. */
export function safeHref(url: string): string | null {
  const trimmed = url.trim();
  return SAFE_URL.test(trimmed) ? trimmed : null;
}

const FENCE = /^\s{0,3}(`{3,}|~{3,})\s*([\w+-]*)\s*$/;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;
const BULLET = /^(\s*)([-*+])\s+(.*)$/;
const ORDERED = /^(\s*)(\d{1,9})[.)]\s+(.*)$/;
const QUOTE = /^\s{0,3}>\s?(.*)$/;

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

function listMarker(line: string): { indent: number; ordered: boolean; start: number; rest: string } | null {
  const bullet = BULLET.exec(line);
  if (bullet && !RULE.test(line)) return { indent: bullet[1].length, ordered: false, start: 1, rest: bullet[3] };
  const ordered = ORDERED.exec(line);
  if (ordered) return { indent: ordered[1].length, ordered: true, start: Number(ordered[2]), rest: ordered[3] };
  return null;
}

function startsBlock(line: string): boolean {
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || listMarker(line) !== null;
}

export function parseMarkdown(source: string): Block[] {
  return parseBlocks(source.replace(/\r\n?/g, '\n').split('\n'));
}

function parseBlocks(lines: string[]): Block[] {
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) {
      i++;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const body: string[] = [];
      i++;
      // An unclosed fence (still streaming) runs to the end.
      while (i < lines.length && !(lines[i].trim().startsWith(fence[1]) && lines[i].trim().replace(/[`~]/g, '') === '')) {
        body.push(lines[i]);
        i++;
      }
      i++;
      blocks.push({ t: 'code', lang: fence[2], v: body.join('\n') });
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      blocks.push({ t: 'h', level: heading[1].length, c: parseInline(heading[2]) });
      i++;
      continue;
    }
    if (RULE.test(line)) {
      blocks.push({ t: 'hr' });
      i++;
      continue;
    }
    if (QUOTE.test(line)) {
      const body: string[] = [];
      while (i < lines.length && lines[i].trim()) {
        const quoted = QUOTE.exec(lines[i]);
        body.push(quoted ? quoted[1] : lines[i]);
        i++;
      }
      blocks.push({ t: 'quote', c: parseBlocks(body) });
      continue;
    }
    const marker = listMarker(line);
    if (marker) {
      i = parseList(lines, i, marker, blocks);
      continue;
    }
    const para: string[] = [];
    while (i < lines.length && lines[i].trim() && !(para.length && startsBlock(lines[i]))) {
      para.push(lines[i].trim());
      i++;
    }
    blocks.push({ t: 'p', c: joinLines(para) });
  }
  return blocks;
}

/** Parses one list starting at `start`; returns the index of the first line after it. */
function parseList(
  lines: string[],
  start: number,
  first: { indent: number; ordered: boolean; start: number },
  out: Block[],
): number {
  const items: Block[][] = [];
  let i = start;
  while (i < lines.length) {
    const marker = listMarker(lines[i]);
    if (!marker || marker.indent !== first.indent || marker.ordered !== first.ordered) break;
    const body = [marker.rest];
    i++;
    // The item owns the lines after it that are indented deeper or are lazy continuations.
    while (i < lines.length) {
      const next = lines[i];
      if (!next.trim()) {
        const following = lines[i + 1];
        if (following !== undefined && following.trim() && indentOf(following) > first.indent) {
          body.push('');
          i++;
          continue;
        }
        break;
      }
      const nested = listMarker(next);
      if (nested && nested.indent <= first.indent) break;
      if (!nested && indentOf(next) <= first.indent && startsBlock(next)) break;
      body.push(next.slice(Math.min(indentOf(next), first.indent + 2)));
      i++;
    }
    items.push(parseBlocks(body));
  }
  out.push({ t: 'list', ordered: first.ordered, start: first.start, items });
  // Skip blank lines between this list and a following item of the same list.
  let j = i;
  while (j < lines.length && !lines[j].trim()) j++;
  const again = j < lines.length ? listMarker(lines[j]) : null;
  if (again && again.indent === first.indent && again.ordered === first.ordered && j > i) {
    const rest: Block[] = [];
    const end = parseList(lines, j, again, rest);
    const merged = rest[0] as Extract<Block, { t: 'list' }>;
    (out[out.length - 1] as Extract<Block, { t: 'list' }>).items.push(...merged.items);
    return end;
  }
  return i;
}

function joinLines(lines: string[]): Inline[] {
  const out: Inline[] = [];
  lines.forEach((line, index) => {
    if (index > 0) out.push({ t: 'br' });
    out.push(...parseInline(line));
  });
  return out;
}

const LINK = /^\[([^\]\n]+)\]\(\s*([^)\s]+)(?:\s+"[^"]*")?\s*\)/;
const CITATION = /^\[((?:\d{1,3})(?:\s*,\s*\d{1,3})*)\]/;
const ESCAPABLE = /[\\`*_{}[\]()#+\-.!|>~]/;

export function parseInline(source: string): Inline[] {
  const out: Inline[] = [];
  let text = '';
  const flush = () => {
    if (text) out.push({ t: 'text', v: text });
    text = '';
  };
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    const rest = source.slice(i);

    if (ch === '\\' && i + 1 < source.length && ESCAPABLE.test(source[i + 1])) {
      text += source[i + 1];
      i += 2;
      continue;
    }

    if (ch === '`') {
      const run = /^`+/.exec(rest)![0];
      const close = source.indexOf(run, i + run.length);
      if (close > 0) {
        flush();
        out.push({ t: 'code', v: source.slice(i + run.length, close).replace(/^ (.+) $/, '$1') });
        i = close + run.length;
        continue;
      }
      text += run;
      i += run.length;
      continue;
    }

    if (ch === '[') {
      const link = LINK.exec(rest);
      if (link) {
        const href = safeHref(link[2]);
        flush();
        if (href) out.push({ t: 'link', href, c: parseInline(link[1]) });
        else out.push(...parseInline(link[1]));
        i += link[0].length;
        continue;
      }
      const cite = CITATION.exec(rest);
      if (cite) {
        flush();
        for (const n of cite[1].split(',')) out.push({ t: 'cite', n: Number(n.trim()) });
        i += cite[0].length;
        continue;
      }
    }

    if (ch === '*' || ch === '_') {
      const emphasis = parseEmphasis(source, i);
      if (emphasis) {
        flush();
        out.push(emphasis.node);
        i = emphasis.end;
        continue;
      }
      const run = ch === '*' ? /^\*+/.exec(rest)![0] : /^_+/.exec(rest)![0];
      text += run;
      i += run.length;
      continue;
    }

    text += ch;
    i++;
  }
  flush();
  return out;
}

function isWordChar(ch: string | undefined): boolean {
  return ch !== undefined && /[\p{L}\p{N}]/u.test(ch);
}

function parseEmphasis(source: string, start: number): { node: Inline; end: number } | null {
  const ch = source[start];
  // `snake_case_names` are words, not emphasis.
  if (ch === '_' && isWordChar(source[start - 1])) return null;
  for (const width of [2, 1]) {
    const delim = ch.repeat(width);
    if (!source.startsWith(delim, start)) continue;
    const contentStart = start + width;
    if (!source[contentStart] || /\s/.test(source[contentStart])) continue;
    let search = contentStart;
    while (search < source.length) {
      const close = source.indexOf(delim, search);
      if (close < 0) break;
      const before = source[close - 1];
      const after = source[close + width];
      const closes =
        close > contentStart &&
        !/\s/.test(before) &&
        // A single delimiter must not be half of a double one.
        (width === 2 || (after !== ch && before !== ch)) &&
        !(ch === '_' && isWordChar(after));
      if (closes) {
        const inner = parseInline(source.slice(contentStart, close));
        return { node: width === 2 ? { t: 'strong', c: inner } : { t: 'em', c: inner }, end: close + width };
      }
      search = close + 1;
    }
  }
  return null;
}

/** The distinct citation numbers in a text, in order of first appearance. */
export function citedNumbers(blocks: Block[]): number[] {
  const seen = new Set<number>();
  const visitInline = (nodes: Inline[]) => {
    for (const node of nodes) {
      if (node.t === 'cite') seen.add(node.n);
      else if ('c' in node) visitInline(node.c);
    }
  };
  const visit = (list: Block[]) => {
    for (const block of list) {
      if (block.t === 'p' || block.t === 'h') visitInline(block.c);
      else if (block.t === 'quote') visit(block.c);
      else if (block.t === 'list') block.items.forEach(visit);
    }
  };
  visit(blocks);
  return [...seen];
}
