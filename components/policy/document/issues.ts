/**
 * zod's issues, reworded for the person editing the YAML: every message says what was expected
 * and what was found. `issueMessages` is passed to `safeParse` and words the issues the schema
 * did not word itself; `toFindings` splits and places them (one finding per unknown key,
 * pointing at the key).
 */
import { z } from 'zod';
import { count, describeExpectedType, expectedMessage, listNames } from './describe.js';
import type { PointAt } from './yaml-position.js';

/** One error before it has a line and column. */
export interface Finding {
  readonly path: readonly PropertyKey[];
  readonly at: PointAt;
  readonly message: string;
}

export const issueMessages: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      return expectedMessage(describeExpectedType(issue.expected), issue.input);
    case 'invalid_value': {
      const values = issue.values.map((value) => JSON.stringify(value));
      return expectedMessage(values.length === 1 ? values[0]! : `one of: ${values.join(', ')}`, issue.input);
    }
    case 'unrecognized_keys':
      // The key itself goes in front of this when the issue is split per key (toFindings).
      return issue.schema instanceof z.ZodObject ? `expected one of: ${listNames(Object.keys(issue.schema.shape))}` : 'not expected here';
    case 'too_small':
    case 'too_big':
      return expectedMessage(describeBound(issue), issue.input);
    case 'invalid_format':
      return expectedMessage(issue.format === 'regex' && issue.pattern ? `a string matching ${issue.pattern}` : `a ${issue.format}`, issue.input);
    default:
      return undefined;
  }
};

type BoundIssue = z.core.$ZodRawIssue<z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig>;

function describeBound(issue: BoundIssue): string {
  const small = issue.code === 'too_small';
  const bound = small ? (issue as z.core.$ZodIssueTooSmall).minimum : (issue as z.core.$ZodIssueTooBig).maximum;
  switch (issue.origin) {
    case 'string':
      return small && Number(bound) === 1 ? 'a non-empty string' : `a string of ${small ? 'at least' : 'at most'} ${count(bound, 'character')}`;
    case 'array':
      return small && Number(bound) === 1 ? 'a non-empty list' : `a list of ${small ? 'at least' : 'at most'} ${count(bound, 'entry', 'entries')}`;
    default: {
      const noun = issue.schema instanceof z.ZodNumber && issue.schema.isInt ? 'a whole number' : 'a number';
      const relation = small ? (issue.inclusive ? '≥' : '>') : (issue.inclusive ? '≤' : '<');
      return `${noun} ${relation} ${bound}`;
    }
  }
}

export function toFindings(issues: readonly z.core.$ZodIssue[]): Finding[] {
  return issues.flatMap((issue): Finding[] => {
    switch (issue.code) {
      case 'unrecognized_keys':
        return issue.keys.map((key) => ({ path: [...issue.path, key], at: 'key', message: `unknown key ${JSON.stringify(key)} (${issue.message})` }));
      case 'invalid_key':
        // A record key that fails its own schema: the key schema's message, at the key.
        return [{ path: issue.path, at: 'key', message: issue.issues[0]?.message ?? issue.message }];
      default:
        return [{ path: issue.path, at: 'value', message: issue.message }];
    }
  });
}
