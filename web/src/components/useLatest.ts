// Several loads of one list can be in flight at once (a filter changed, a key created while the first
// load is still running); only the latest load's answer may be shown, or a slow older answer would
// overwrite a newer one.
import { useCallback, useRef } from 'preact/hooks';

/** Returns `begin`: call it when a load starts; the function it returns tells, when that load's answer
 * arrives, whether it is still the latest load. */
export function useLatest(): () => () => boolean {
  const counter = useRef(0);
  return useCallback(() => {
    const id = ++counter.current;
    return () => id === counter.current;
  }, []);
}
