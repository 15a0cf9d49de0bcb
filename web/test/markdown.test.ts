// The Markdown parser's contract: structure for what answers use, and never a way to inject markup.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseInline, parseMarkdown, safeHref } from '../src/lib/markdown.ts';

test('raw HTML stays text', () => {
  assert.deepEqual(parseMarkdown('<script>alert(1)</script> <img src=x onerror=alert(1)>'), [
    { t: 'p', c: [{ t: 'text', v: '<script>alert(1)</script> <img src=x onerror=alert(1)>' }] },
  ]);
});

test('links keep only web, mail and same-site targets', () => {
  assert.equal(safeHref('https://intranet/x'), 'https://intranet/x');
  assert.equal(safeHref('mailto:a@b.c'), 'mailto:a@b.c');
  assert.equal(safeHref('/v1/documents'), '/v1/documents');
  assert.equal(safeHref('javascript:alert(1)'), null);
  assert.equal(safeHref(' JaVaScRiPt:alert(1)'), null);
  assert.equal(safeHref('data:text/html,<b>'), null);
  assert.equal(safeHref('//evil.example/x'), null);
  assert.deepEqual(parseInline('[click](javascript:void)'), [{ t: 'text', v: 'click' }]);
  assert.deepEqual(parseInline('[docs](https://x.y)'), [{ t: 'link', href: 'https://x.y', c: [{ t: 'text', v: 'docs' }] }]);
});

test('citation markers become citations, one per number', () => {
  assert.deepEqual(parseInline('Water [1] and blankets [2, 3][4].'), [
    { t: 'text', v: 'Water ' },
    { t: 'cite', n: 1 },
    { t: 'text', v: ' and blankets ' },
    { t: 'cite', n: 2 },
    { t: 'cite', n: 3 },
    { t: 'cite', n: 4 },
    { t: 'text', v: '.' },
  ]);
});

test('emphasis, code and escapes', () => {
  assert.deepEqual(parseInline('**bold** *it* _it_ `a <b>` \\*no\\* snake_case_word'), [
    { t: 'strong', c: [{ t: 'text', v: 'bold' }] },
    { t: 'text', v: ' ' },
    { t: 'em', c: [{ t: 'text', v: 'it' }] },
    { t: 'text', v: ' ' },
    { t: 'em', c: [{ t: 'text', v: 'it' }] },
    { t: 'text', v: ' ' },
    { t: 'code', v: 'a <b>' },
    { t: 'text', v: ' *no* snake_case_word' },
  ]);
});

test('an unfinished marker while streaming stays literal', () => {
  assert.deepEqual(parseInline('**half'), [{ t: 'text', v: '**half' }]);
  assert.deepEqual(parseMarkdown('```\nstill coming'), [{ t: 'code', lang: '', v: 'still coming' }]);
});

test('blocks: headings, paragraphs with line breaks, lists, quotes, code', () => {
  const blocks = parseMarkdown('## Result\nline one\nline two\n\n- a\n  - nested\n- b\n\n3. three\n4. four\n\n> quoted\n\n```py\nx = 1\n```');
  assert.deepEqual(blocks.map((b) => b.t), ['h', 'p', 'list', 'list', 'quote', 'code']);
  assert.deepEqual(blocks[1], { t: 'p', c: [{ t: 'text', v: 'line one' }, { t: 'br' }, { t: 'text', v: 'line two' }] });
  const bullets = blocks[2] as Extract<(typeof blocks)[number], { t: 'list' }>;
  assert.equal(bullets.items.length, 2);
  assert.equal(bullets.items[0][1].t, 'list');
  const numbered = blocks[3] as Extract<(typeof blocks)[number], { t: 'list' }>;
  assert.equal(numbered.ordered, true);
  assert.equal(numbered.start, 3);
});
