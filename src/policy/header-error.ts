/**
 * Turning a bad policy header into the 400 the client sees: OpenAI's error shape, `param`
 * naming the header, and a message naming the header and the field path, e.g.
 * `X-Retry-Config: field "max_retries": expected an integer between 0 and 10`.
 */
import type { z } from 'zod';
import { formatPath } from '../core/field-path.ts';
import { GatewayError } from '../core/openai-error.ts';

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

/** The 400 for one bad header; `path` is the field inside a JSON header, empty for the header as a whole. */
export function headerError(header: string, path: Path, message: string): GatewayError {
  const where = path.length === 0 ? '' : `field "${formatPath(path)}": `;
  return new GatewayError(400, `${header}: ${where}${message}`, { param: header, code: 'invalid_header' });
}


// An un-customised union failed: the formatter picks the branch that fits the input's shape.
const UNION = '\0union';

/**
 * zod's fallback messages, for issues a schema leaf did not word itself. Passed to
 * `safeParse` so schema-level messages win.
 */
export const issueMessages: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return 'required';
      return `expected ${article(iss.expected)}`;
    case 'invalid_value':
      // A missing enum or literal field (e.g. a rule without error_type).
      return iss.input === undefined ? 'required' : undefined;
    case 'invalid_union':
      return UNION;
    default:
      return undefined;
  }
};

function article(expected: string): string {
  if (expected === 'object') return 'a JSON object';
  if (expected === 'array') return 'an array';
  if (expected === 'int') return 'an integer';
  return `a ${expected}`;
}

/** The 400 for the first issue zod found in a header. */
export function issueError(header: string, issues: readonly Issue[]): GatewayError {
  const { path, message } = describe(issues[0]!, []);
  return headerError(header, path, message);
}

function describe(issue: Issue, prefix: Path): { path: Path; message: string } {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'unrecognized_keys') return { path: [...path, issue.keys[0]!], message: 'unknown field' };
  if (issue.code === 'invalid_union' && issue.message === UNION) {
    const branch = bestBranch(issue.errors);
    if (branch !== undefined) return describe(branch, path);
    return { path, message: 'invalid value' };
  }
  return { path, message: issue.message };
}

/**
 * The branch the input was meant for: the one whose error is deepest (it got furthest), and
 * among equals one that did not reject the input's type outright.
 */
function bestBranch(branches: readonly (readonly Issue[])[]): Issue | undefined {
  let best: Issue | undefined;
  for (const issues of branches) {
    const first = issues[0];
    if (first === undefined) continue;
    if (
      best === undefined ||
      first.path.length > best.path.length ||
      (first.path.length === best.path.length && best.code === 'invalid_type' && first.code !== 'invalid_type')
    ) {
      best = first;
    }
  }
  return best;
}
