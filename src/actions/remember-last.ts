/**
 * `fn` remembering its last answer: the same text (harbor.yml, the compose file) at the next
 * takeover is not parsed again (a YAML parse is ~4–9 ms of the takeover under the service's V8
 * flags). One entry: the text changes rarely, and then the new one is what counts. A throw is not
 * remembered.
 */
export function rememberLast<R>(fn: (key: string) => R): (key: string) => R {
  let last: { key: string; value: R } | null = null;
  return (key) => {
    if (last?.key !== key) last = { key, value: fn(key) };
    return last.value;
  };
}
