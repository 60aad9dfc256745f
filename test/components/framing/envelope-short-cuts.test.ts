import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readEnvelope } from '../../../components/framing/index.js';
import { jsonDepth } from '../../../components/policy/rules/limits.js';

// The envelope reader takes short cuts for the common frame: the envelope's member names matched
// as bytes at the top level, and a plain integer id read once as its own key. Each frame below
// (near the short cuts' edges) must read exactly as the general path read it before them: these
// results were taken from the reader without the short cuts.
const CASES: ReadonlyArray<readonly [string, unknown]> = [
  ["{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}", {"kind":"request","id":"7","key":"7","method":"ping"}],
  ["{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"ping\"}", {"kind":"request","id":"0","key":"0","method":"ping"}],
  ["{\"jsonrpc\":\"2.0\",\"id\":123456789012345,\"method\":\"ping\"}", {"kind":"request","id":"123456789012345","key":"123456789012345","method":"ping"}],
  ["{\"jsonrpc\":\"2.0\",\"id\":1234567890123456,\"method\":\"ping\"}", {"kind":"request","id":"1234567890123456","key":"1234567890123456","method":"ping"}],
  ["{\"jsonrpc\":\"2.0\",\"id\":9007199254740993,\"method\":\"ping\"}", {"kind":"invalid","problem":"ambiguous","detail":"id 9007199254740993 is beyond \u00b12^53: peers round it differently"}],
  ["{\"jsonrpc\":\"2.0\",\"id\":12.0,\"result\":{}}", {"kind":"response","id":"12.0","key":"12"}],
  ["{\"jsonrpc\":\"2.0\",\"id\":12e1,\"result\":{}}", {"kind":"response","id":"12e1","key":"120"}],
  ["{\"jsonrpc\":\"2.0\",\"id\":12E1,\"result\":{}}", {"kind":"response","id":"12E1","key":"120"}],
  ["{\"jsonrpc\":\"2.0\",\"id\":12.,\"result\":{}}", {"kind":"invalid","problem":"parse","detail":"a number needs digits after its decimal point"}],
  ["{\"jsonrpc\":\"2.0\",\"id\":12e,\"result\":{}}", {"kind":"invalid","problem":"parse","detail":"a number needs digits in its exponent"}],
  ["{\"jsonrpc\":\"2.0\",\"id\":012,\"result\":{}}", {"kind":"invalid","problem":"parse","detail":"expected ',' or '}', found '1'","id":"0","key":"0"}],
  ["{\"jsonrpc\":\"2.0\",\"id\":12 ,\"result\":{}}", {"kind":"response","id":"12","key":"12"}],
  ["{\"jsonrpc\":\"2.0\",\"id\":12x,\"result\":{}}", {"kind":"invalid","problem":"parse","detail":"expected ',' or '}', found 'x'","id":"12","key":"12"}],
  ["{\"jsonrpc\":\"2.0\",\"id\":-0,\"result\":{}}", {"kind":"response","id":"-0","key":"0"}],
  ["{\"jsonrpc\":\"2.0\",\"id\":\"12\",\"result\":{}}", {"kind":"response","id":"\"12\"","key":"\"12\""}],
  ["{\"jsonrpc\":\"2.0\",\"id\":\"\\u0031\",\"result\":{}}", {"kind":"response","id":"\"\\u0031\"","key":"\"1\""}],
  ["{\"jsonrpc\":\"2.0\",\"id\":12", {"kind":"invalid","problem":"parse","detail":"unterminated object","id":"12","key":"12"}],
  ["{\"jsonrpc\":\"2.0\",\"\\u0069d\":5,\"method\":\"ping\"}", {"kind":"request","id":"5","key":"5","method":"ping"}],
  ["{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"ping\"}", {"kind":"invalid","problem":"ambiguous","detail":"member \"id\" appears twice in one object (peers keep the first or the last)"}],
  ["{\"jsonrpc\":\"2.0\",\"id\":1,\"\\u0069d\":2,\"method\":\"ping\"}", {"kind":"invalid","problem":"ambiguous","detail":"member \"id\" appears twice in one object (peers keep the first or the last)"}],
  ["{\"jsonrpc\":\"2.0\",\"Id\":1,\"method\":\"ping\"}", {"kind":"invalid","problem":"ambiguous","detail":"member \"Id\" is \"id\" to peers that match names without case (Go's encoding/json)"}],
  ["{\"jsonrpc\":\"2.0\",\"idx\":1,\"method\":\"ping\"}", {"kind":"notification","method":"ping"}],
  ["{\"jsonrpc\":\"2.0\",\"id\":1,\"methods\":\"ping\"}", {"kind":"invalid","problem":"not_jsonrpc","detail":"no \"method\", \"result\" or \"error\"","id":"1","key":"1"}],
  ["{\"jsonrpc\":\"2.0\",\"id\":1,\"Method\":\"ping\"}", {"kind":"invalid","problem":"ambiguous","detail":"member \"Method\" is \"method\" to peers that match names without case (Go's encoding/json)","id":"1","key":"1"}],
  ["{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"method\":\"pong\"}", {"kind":"invalid","problem":"ambiguous","detail":"member \"method\" appears twice in one object (peers keep the first or the last)","id":"1","key":"1","method":"ping"}],
  ["{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}", {"kind":"invalid","problem":"not_jsonrpc","detail":"\"method\" must be a string","id":"1","key":"1"}],
  ["{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":{},\"params\":{}}", {"kind":"invalid","problem":"ambiguous","detail":"member \"params\" appears twice in one object (peers keep the first or the last)","id":"1","key":"1","method":"m"}],
  ["{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"param\u017f\":{}}", {"kind":"invalid","problem":"ambiguous","detail":"member \"param\u017f\" is \"params\" to peers that match names without case (Go's encoding/json)","id":"1","key":"1","method":"m"}],
  ["{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1,\"error\":{\"code\":1,\"message\":\"x\"}}", {"kind":"invalid","problem":"not_jsonrpc","detail":"a response has \"result\" or \"error\", not both","id":"1","key":"1"}],
  ["{\"jsonrpc\":\"2.0\",\"id\":1,\"results\":1}", {"kind":"invalid","problem":"not_jsonrpc","detail":"no \"method\", \"result\" or \"error\"","id":"1","key":"1"}],
  ["{\"jsonrpc\":\"2.0\",\"id\":1,\"erro\":1}", {"kind":"invalid","problem":"not_jsonrpc","detail":"no \"method\", \"result\" or \"error\"","id":"1","key":"1"}],
  ["{\"jsonrpc\":\"2.0\",\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"}", {"kind":"invalid","problem":"ambiguous","detail":"member \"jsonrpc\" appears twice in one object (peers keep the first or the last)"}],
  ["{\"jsonrpc\":\"2.0\",\"jsonrpcx\":1,\"id\":1,\"method\":\"m\"}", {"kind":"request","id":"1","key":"1","method":"m"}],
  ["{\"jsonrpc\":\"2.0\",}", {"kind":"invalid","problem":"parse","detail":"expected a quoted member name"}],
  ["{\"jsonrpc\":\"2.0\",\"id", {"kind":"invalid","problem":"parse","detail":"unterminated string"}],
  ["{\"jsonrpc\":\"2.0\",\"method", {"kind":"invalid","problem":"parse","detail":"unterminated string"}],
  ["{\"jsonrpc\":\"2.0\",\"result\"", {"kind":"invalid","problem":"parse","detail":"expected ':' after a member name"}],
  ["[{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"m\"},{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":1}]", {"kind":"batch","members":[{"kind":"request","id":"3","key":"3","method":"m","bytes":{"type":"Buffer","data":[123,34,106,115,111,110,114,112,99,34,58,34,50,46,48,34,44,34,105,100,34,58,51,44,34,109,101,116,104,111,100,34,58,34,109,34,125]}},{"kind":"response","id":"4","key":"4","bytes":{"type":"Buffer","data":[123,34,106,115,111,110,114,112,99,34,58,34,50,46,48,34,44,34,105,100,34,58,52,44,34,114,101,115,117,108,116,34,58,49,125]}}]}],
];

// A frame read whole carries its nesting (Envelope.depth, what limits.maxDepth compares): the
// general path measured it too, and it is what jsonDepth scans (envelope-depth.test.ts).
function withDepth(expected: Record<string, unknown>, line: string): Record<string, unknown> {
  return expected['kind'] === 'invalid' ? expected : { ...expected, depth: jsonDepth(Buffer.from(line)) };
}

describe('readEnvelope short cuts', () => {
  for (const [text, expected] of CASES) {
    it(`reads ${text} as the general path does`, () => {
      for (const line of [text, `${text}\n`, `${text}\r\n`]) {
        assert.deepEqual(JSON.parse(JSON.stringify(readEnvelope(Buffer.from(line)))), withDepth(expected as Record<string, unknown>, line));
      }
    });
  }
});
