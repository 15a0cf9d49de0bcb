// The source panel a citation opens: which document, which page, the cited passage, and a way
// to open the original file.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Api, Citation } from '../lib/api';
import { inlineType, openOriginal } from '../lib/files';
import { ErrorBanner } from './common';
import { CloseIcon } from './icons';

export function SourcePanel({ api, citation, onClose }: { api: Api; citation: Citation; onClose: () => void }) {
  const heading = useRef<HTMLHeadingElement>(null);
  const [error, setError] = useState<unknown>(null);
  const [opening, setOpening] = useState(false);

  useEffect(() => {
    heading.current?.focus();
    setError(null);
  }, [citation]);

  const open = async () => {
    setOpening(true);
    setError(null);
    try {
      await openOriginal(() => api.documentFile(citation.document_id), citation.filename, citation.page);
    } catch (err) {
      setError(err);
    } finally {
      setOpening(false);
    }
  };

  return (
    <aside
      class="source-panel"
      aria-labelledby="source-title"
      data-testid="source-panel"
      onKeyDown={(e) => e.key === 'Escape' && onClose()}
    >
      <div class="source-head">
        <h2 id="source-title" tabIndex={-1} ref={heading}>
          Source {citation.index}
        </h2>
        <button type="button" class="icon-button" aria-label="Close source" onClick={onClose}>
          <CloseIcon />
        </button>
      </div>
      <dl class="source-facts">
        <dt>Document</dt>
        <dd class="source-filename" data-testid="source-filename">
          {citation.filename}
        </dd>
        {citation.page ? (
          <>
            <dt>Page</dt>
            <dd data-testid="source-page">{citation.page}</dd>
          </>
        ) : null}
        {typeof citation.score === 'number' && (
          <>
            <dt>Relevance</dt>
            <dd>{citation.score.toFixed(3)}</dd>
          </>
        )}
      </dl>
      <h3 class="snippet-title">Cited passage</h3>
      <blockquote class="snippet" data-testid="source-snippet">
        {citation.snippet}
      </blockquote>
      {error !== null && <ErrorBanner error={error} />}
      <button type="button" class="button primary" onClick={() => void open()} disabled={opening}>
        {opening ? 'Opening…' : inlineType(citation.filename) ? 'Open original' : 'Download original'}
        {inlineType(citation.filename) && <span class="visually-hidden"> (opens in a new tab)</span>}
      </button>
    </aside>
  );
}
