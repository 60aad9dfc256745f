;; The one loop of the envelope reader that sees every byte of a long string: the first index
;; in [i, end) whose byte is a control character (< 0x20), a quote or a backslash, or `end`.
;; SIMD, 64 bytes a turn (~60 µs a MiB, where a JavaScript loop over a Uint8Array takes ~1,100).
;; `(v ^ 2) < 0x21` is true for 0x00-0x1F and the quote 0x22 exactly (xor 2 permutes 0x00-0x1F
;; among themselves and swaps 0x20 with 0x22). Bit 30 of the result says whether a byte of 0x80
;; or more was among those looked at (a 64-byte turn may look past the stop): only then does the
;; reader check the frame's UTF-8. (A result, not a global: a global's value costs JavaScript a
;; slow accessor.) Compiled by scripts/build-wasm.mjs into string-scan-wasm.ts.
(module
  (memory (export "memory") 1)
  (func (export "scan") (param $i i32) (param $end i32) (result i32)
    (local $v v128) (local $m v128) (local $seen v128) (local $ctl v128) (local $two v128) (local $bs v128) (local $high i32) (local $c i32)
    (local.set $ctl (i8x16.splat (i32.const 0x21)))
    (local.set $two (i8x16.splat (i32.const 0x02)))
    (local.set $bs (i8x16.splat (i32.const 0x5c)))
    (block $sixteen
      (loop $wide
        (br_if $sixteen (i32.gt_u (i32.add (local.get $i) (i32.const 64)) (local.get $end)))
        (local.set $m (v128.const i64x2 0 0))
        (local.set $v (v128.load (local.get $i)))
        (local.set $seen (v128.or (local.get $seen) (local.get $v)))
        (local.set $m (v128.or (local.get $m) (v128.or (i8x16.lt_u (v128.xor (local.get $v) (local.get $two)) (local.get $ctl)) (i8x16.eq (local.get $v) (local.get $bs)))))
        (local.set $v (v128.load offset=16 (local.get $i)))
        (local.set $seen (v128.or (local.get $seen) (local.get $v)))
        (local.set $m (v128.or (local.get $m) (v128.or (i8x16.lt_u (v128.xor (local.get $v) (local.get $two)) (local.get $ctl)) (i8x16.eq (local.get $v) (local.get $bs)))))
        (local.set $v (v128.load offset=32 (local.get $i)))
        (local.set $seen (v128.or (local.get $seen) (local.get $v)))
        (local.set $m (v128.or (local.get $m) (v128.or (i8x16.lt_u (v128.xor (local.get $v) (local.get $two)) (local.get $ctl)) (i8x16.eq (local.get $v) (local.get $bs)))))
        (local.set $v (v128.load offset=48 (local.get $i)))
        (local.set $seen (v128.or (local.get $seen) (local.get $v)))
        (local.set $m (v128.or (local.get $m) (v128.or (i8x16.lt_u (v128.xor (local.get $v) (local.get $two)) (local.get $ctl)) (i8x16.eq (local.get $v) (local.get $bs)))))
        (br_if $sixteen (v128.any_true (local.get $m)))
        (local.set $i (i32.add (local.get $i) (i32.const 64)))
        (br $wide)))
    (local.set $high (i32.ne (i8x16.bitmask (local.get $seen)) (i32.const 0)))
    (block $done
      (loop $narrow
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $c (i32.load8_u (local.get $i)))
        (local.set $high (i32.or (local.get $high) (i32.ge_u (local.get $c) (i32.const 0x80))))
        (br_if $done (i32.lt_u (i32.xor (local.get $c) (i32.const 0x02)) (i32.const 0x21)))
        (br_if $done (i32.eq (local.get $c) (i32.const 0x5c)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $narrow)))
    (i32.or (local.get $i) (i32.shl (local.get $high) (i32.const 30)))))
