import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withoutLineEnd } from '../../../components/framing/index.js';

describe('withoutLineEnd', () => {
  it('should drop a trailing \\n or \\r\\n as a view, and leave a line without one as it is', () => {
    const line = Buffer.from('{"a":1}\r\n');
    const text = withoutLineEnd(line);
    assert.equal(text.toString(), '{"a":1}');
    assert.equal(text.buffer, line.buffer, 'no copy');
    assert.equal(withoutLineEnd(Buffer.from('{"a":1}\n')).toString(), '{"a":1}');
    const bare = Buffer.from('{"a":1}');
    assert.equal(withoutLineEnd(bare), bare);
    assert.equal(withoutLineEnd(Buffer.alloc(0)).length, 0);
  });
});
