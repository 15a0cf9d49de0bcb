// Renders the parsed Markdown tree as elements. Text is always a text node, never HTML.
import type { JSX } from 'preact';
import { useMemo } from 'preact/hooks';
import type { Citation } from '../lib/api';
import { parseMarkdown, type Block, type Inline } from '../lib/markdown';

interface Props {
  text: string;
  citations: Citation[] | null;
  onCite: (citation: Citation, trigger: HTMLElement) => void;
}

export function Markdown({ text, citations, onCite }: Props) {
  // Streaming re-renders every message on each token; only a changed text is parsed again.
  const blocks = useMemo(() => parseMarkdown(text), [text]);
  const ctx = { citations, onCite };
  return <div class="markdown">{blocks.map((block, i) => renderBlock(block, i, ctx))}</div>;
}

type Ctx = Pick<Props, 'citations' | 'onCite'>;

function renderBlock(block: Block, key: number, ctx: Ctx): JSX.Element {
  switch (block.t) {
    case 'p':
      return <p key={key}>{renderInlines(block.c, ctx)}</p>;
    case 'h': {
      // Answers sit under the page's own headings, so their headings start at h3.
      const Tag = `h${Math.min(6, block.level + 2)}` as 'h3';
      return <Tag key={key}>{renderInlines(block.c, ctx)}</Tag>;
    }
    case 'code':
      return (
        <pre key={key}>
          <code data-lang={block.lang || undefined}>{block.v}</code>
        </pre>
      );
    case 'list': {
      const items = block.items.map((item, i) => <li key={i}>{renderItem(item, ctx)}</li>);
      return block.ordered ? (
        <ol key={key} start={block.start === 1 ? undefined : block.start}>
          {items}
        </ol>
      ) : (
        <ul key={key}>{items}</ul>
      );
    }
    case 'quote':
      return <blockquote key={key}>{block.c.map((b, i) => renderBlock(b, i, ctx))}</blockquote>;
    case 'hr':
      return <hr key={key} />;
  }
}

/** A one-paragraph list item renders without its <p>, as tight lists do. */
function renderItem(blocks: Block[], ctx: Ctx) {
  if (blocks.length === 1 && blocks[0].t === 'p') return renderInlines(blocks[0].c, ctx);
  return blocks.map((b, i) => renderBlock(b, i, ctx));
}

function renderInlines(nodes: Inline[], ctx: Ctx): (JSX.Element | string)[] {
  return nodes.map((node, i) => renderInline(node, i, ctx));
}

function renderInline(node: Inline, key: number, ctx: Ctx): JSX.Element | string {
  switch (node.t) {
    case 'text':
      return node.v;
    case 'br':
      return <br key={key} />;
    case 'code':
      return <code key={key}>{node.v}</code>;
    case 'strong':
      return <strong key={key}>{renderInlines(node.c, ctx)}</strong>;
    case 'em':
      return <em key={key}>{renderInlines(node.c, ctx)}</em>;
    case 'link':
      return (
        <a key={key} href={node.href} target="_blank" rel="noopener noreferrer nofollow">
          {renderInlines(node.c, ctx)}
        </a>
      );
    case 'cite':
      return <CiteButton key={key} n={node.n} ctx={ctx} />;
  }
}

function CiteButton({ n, ctx }: { n: number; ctx: Ctx }) {
  const citation = ctx.citations?.find((c) => c.index === n) ?? null;
  if (!citation) {
    // Sources arrive after the text; until then (or if the number is unknown) it is plain text.
    return <span class="cite pending">[{n}]</span>;
  }
  const page = citation.page ? `, page ${citation.page}` : '';
  return (
    <button
      type="button"
      class="cite"
      data-citation={n}
      aria-label={`Source ${n}: ${citation.filename}${page}`}
      title={`${citation.filename}${page}`}
      onClick={(e) => ctx.onCite(citation, e.currentTarget)}
    >
      {n}
    </button>
  );
}
