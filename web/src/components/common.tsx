// Small pieces shared by every page: the confirmation dialog and the error banner.
import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError } from '../lib/api';
import { CloseIcon } from './icons';

export interface ConfirmRequest {
  title: string;
  message: string;
  confirmLabel: string;
  onConfirm: () => void | Promise<void>;
}

/** A modal confirmation built on <dialog>, which traps focus and closes on Escape by itself. */
export function ConfirmDialog({ request, onClose }: { request: ConfirmRequest | null; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (request && !dialog.open) dialog.showModal();
    if (!request && dialog.open) dialog.close();
  }, [request]);

  const confirm = async () => {
    if (!request) return;
    setBusy(true);
    try {
      await request.onConfirm();
    } finally {
      setBusy(false);
      onClose();
    }
  };

  return (
    <dialog ref={ref} class="dialog" aria-labelledby="confirm-title" aria-describedby="confirm-message" onClose={onClose}>
      {request && (
        <form method="dialog" onSubmit={(e) => { e.preventDefault(); void confirm(); }}>
          <h2 id="confirm-title">{request.title}</h2>
          <p id="confirm-message">{request.message}</p>
          <div class="dialog-actions">
            <button type="button" class="button" onClick={onClose} autofocus>
              Cancel
            </button>
            <button type="submit" class="button danger" disabled={busy}>
              {request.confirmLabel}
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}

/** Shows an error sentence; for a rate limit it counts the Retry-After seconds down. */
export function ErrorBanner({ error, onDismiss }: { error: unknown; onDismiss?: () => void }) {
  const retryAfter = error instanceof ApiError ? error.retryAfter : null;
  const until = useMemo(() => (retryAfter ? Date.now() + retryAfter * 1000 : 0), [error]);
  const [now, setNow] = useState(Date.now());

  useEffect(() => {
    if (!until) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [until]);

  if (!error) return null;
  const message = errorMessage(error);
  const left = until ? Math.max(0, Math.ceil((until - now) / 1000)) : 0;
  return (
    <div class="banner error" role="alert">
      <span>
        {message}
        {until > 0 && (
          <strong class="retry" aria-live="off">
            {left > 0 ? ` Retry in ${left} s.` : ' You can try again now.'}
          </strong>
        )}
      </span>
      {onDismiss && (
        <button type="button" class="icon-button" aria-label="Dismiss message" onClick={onDismiss}>
          <CloseIcon />
        </button>
      )}
    </div>
  );
}

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    // The countdown in ErrorBanner replaces the sentence's own "try again in N s".
    return error.status === 429 ? error.message.replace(/ You can try again in \d+ s\.$/, '') : error.message;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

export function VisuallyHidden({ children }: { children: ComponentChildren }) {
  return <span class="visually-hidden">{children}</span>;
}

export function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === 'AbortError';
}
