import { LIST_CHANGED_NOTIFICATIONS } from '../mcp/index.js';

// What a client was shown, by kind of list, so that a policy change (a reload that may hide,
// pin or allow other things) tells it to list again — and only the lists it has: a client that
// never listed prompts is not told of prompts. One flag per kind, set where the server's
// successful answers to list requests pass; nothing else is kept, and nothing per frame beyond
// one lookup of the answered method.

const TOOLS = 1;
const PROMPTS = 2;
const RESOURCES = 4;

/** The list methods, each with the flag of the list its answer shows (templates are resources: one notification covers both). */
const FLAG_OF_LIST_METHOD: ReadonlyMap<string, number> = new Map([
  ['tools/list', TOOLS],
  ['prompts/list', PROMPTS],
  ['resources/list', RESOURCES],
  ['resources/templates/list', RESOURCES],
]);

/** Each kind's notification as one NDJSON line, encoded once for the process (they never change). */
const NOTIFICATIONS: ReadonlyArray<{ readonly flag: number; readonly method: string; readonly line: Buffer }> = [
  { flag: TOOLS, method: LIST_CHANGED_NOTIFICATIONS.tools },
  { flag: PROMPTS, method: LIST_CHANGED_NOTIFICATIONS.prompts },
  { flag: RESOURCES, method: LIST_CHANGED_NOTIFICATIONS.resources },
].map(({ flag, method }) => Object.freeze({ flag, method, line: Buffer.from(`${JSON.stringify({ jsonrpc: '2.0', method })}\n`) }));

export class ListedKinds {
  #listed = 0;

  /** The server's successful answer to a request of this method reached the client. */
  answered(method: string): void {
    const flag = FLAG_OF_LIST_METHOD.get(method);
    if (flag !== undefined) this.#listed |= flag;
  }

  /** The `list_changed` notifications (their method and line) for every kind of list the client has received. */
  notifications(): Array<{ readonly method: string; readonly line: Buffer }> {
    return NOTIFICATIONS.filter(({ flag }) => (this.#listed & flag) !== 0);
  }
}
