import { MASK } from './redact.ts';

/**
 * A URL fit to print (the start-up banner, a config error): its `user:password@`, every
 * query value and any fragment masked; scheme, host, port, path and query names kept. Works
 * on strings that do not parse as URLs too.
 *
 * @example
 * redactUrl('https://me:s3cret@proxy.example/v1?api-version=2024-06-01&key=abc')
 * // 'https://****@proxy.example/v1?api-version=****&key=****'
 */
export function redactUrl(url: string): string {
  const end = url.search(/[?#]/);
  const head = maskUserinfo(end === -1 ? url : url.slice(0, end));
  if (end === -1) return head;
  const rest = url.slice(end);
  const hash = rest.indexOf('#');
  const query = hash === -1 ? rest : rest.slice(0, hash);
  const params = query === '' ? '' : `?${query.slice(1).split('&').map(maskParam).join('&')}`;
  return head + params + (hash === -1 ? '' : `#${MASK}`);
}

/** `name=value` -> `name=****`; a bare `value` (no name) is masked whole. */
function maskParam(param: string): string {
  const eq = param.indexOf('=');
  if (eq !== -1) return `${param.slice(0, eq)}=${MASK}`;
  return param === '' ? '' : MASK;
}

/**
 * `scheme://user:password@host/path` -> `scheme://****@host/path` (an `@` in the path is left
 * alone). Without `//` the string is no URL (a config error quotes it): everything before its
 * last `@` goes.
 */
function maskUserinfo(head: string): string {
  const slashes = head.indexOf('//');
  if (slashes === -1) {
    const at = head.lastIndexOf('@');
    return at === -1 ? head : MASK + head.slice(at);
  }
  const from = slashes + 2;
  const path = head.indexOf('/', from);
  const at = head.lastIndexOf('@', path === -1 ? head.length : path);
  return at < from ? head : head.slice(0, from) + MASK + head.slice(at);
}
