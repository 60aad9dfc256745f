;; The redact rule's search for where a secret may start (redaction-prefilter.ts): a Teddy filter.
;; The 96 bytes at $t are three pairs of 16-byte tables, one pair per position k = 0, 1, 2: by low
;; nibble, then by high nibble, a bit per bucket of needles. A position p is a candidate when some
;; bit is set in lo_k[b(p+k) & 15] & hi_k[b(p+k) >> 4] for all three k (i8x16.swizzle looks the
;; nibbles up, 16 positions at a time).
;; scan($t, $i, $end): the first index in [$i, $end) that is a candidate or a stop byte (a control
;; character, a quote or a backslash: `(v ^ 2) < 0x21` is 0x00-0x1F and the quote), or $end.
;; find($t, $i, $end): the first candidate, or $end.
;; Both read up to 18 bytes past the last block: the caller leaves them readable (and zeroed).
(module
  (memory (export "memory") 1)
  (func (export "scan") (param $t i32) (param $i i32) (param $end i32) (result i32)
    (local $lo0 v128) (local $hi0 v128) (local $lo1 v128) (local $hi1 v128) (local $lo2 v128) (local $hi2 v128)
    (local $low v128) (local $ctl v128) (local $two v128) (local $bs v128) (local $zero v128)
    (local $v v128) (local $m v128) (local $stop v128) (local $bits i32) (local $p i32)
    (local.set $lo0 (v128.load (local.get $t)))
    (local.set $hi0 (v128.load offset=16 (local.get $t)))
    (local.set $lo1 (v128.load offset=32 (local.get $t)))
    (local.set $hi1 (v128.load offset=48 (local.get $t)))
    (local.set $lo2 (v128.load offset=64 (local.get $t)))
    (local.set $hi2 (v128.load offset=80 (local.get $t)))
    (local.set $low (i8x16.splat (i32.const 0x0f)))
    (local.set $ctl (i8x16.splat (i32.const 0x21)))
    (local.set $two (i8x16.splat (i32.const 0x02)))
    (local.set $bs (i8x16.splat (i32.const 0x5c)))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $v (v128.load (local.get $i)))
        (local.set $m (v128.and
          (i8x16.swizzle (local.get $lo0) (v128.and (local.get $v) (local.get $low)))
          (i8x16.swizzle (local.get $hi0) (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $low)))))
        (local.set $stop (v128.or (i8x16.lt_u (v128.xor (local.get $v) (local.get $two)) (local.get $ctl)) (i8x16.eq (local.get $v) (local.get $bs))))
        (local.set $v (v128.load offset=1 (local.get $i)))
        (local.set $m (v128.and (local.get $m) (v128.and
          (i8x16.swizzle (local.get $lo1) (v128.and (local.get $v) (local.get $low)))
          (i8x16.swizzle (local.get $hi1) (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $low))))))
        (local.set $v (v128.load offset=2 (local.get $i)))
        (local.set $m (v128.and (local.get $m) (v128.and
          (i8x16.swizzle (local.get $lo2) (v128.and (local.get $v) (local.get $low)))
          (i8x16.swizzle (local.get $hi2) (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $low))))))
        (local.set $bits (i32.or (i8x16.bitmask (local.get $stop)) (i32.xor (i8x16.bitmask (i8x16.eq (local.get $m) (local.get $zero))) (i32.const 0xffff))))
        (if (i32.ne (local.get $bits) (i32.const 0))
          (then
            (local.set $p (i32.add (local.get $i) (i32.ctz (local.get $bits))))
            (return (select (local.get $p) (local.get $end) (i32.lt_u (local.get $p) (local.get $end))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $blocks)))
    (local.get $end))
  (func (export "find") (param $t i32) (param $i i32) (param $end i32) (result i32)
    (local $lo0 v128) (local $hi0 v128) (local $lo1 v128) (local $hi1 v128) (local $lo2 v128) (local $hi2 v128)
    (local $low v128) (local $zero v128)
    (local $v v128) (local $m v128) (local $bits i32) (local $p i32)
    (local.set $lo0 (v128.load (local.get $t)))
    (local.set $hi0 (v128.load offset=16 (local.get $t)))
    (local.set $lo1 (v128.load offset=32 (local.get $t)))
    (local.set $hi1 (v128.load offset=48 (local.get $t)))
    (local.set $lo2 (v128.load offset=64 (local.get $t)))
    (local.set $hi2 (v128.load offset=80 (local.get $t)))
    (local.set $low (i8x16.splat (i32.const 0x0f)))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $v (v128.load (local.get $i)))
        (local.set $m (v128.and
          (i8x16.swizzle (local.get $lo0) (v128.and (local.get $v) (local.get $low)))
          (i8x16.swizzle (local.get $hi0) (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $low)))))
        (local.set $v (v128.load offset=1 (local.get $i)))
        (local.set $m (v128.and (local.get $m) (v128.and
          (i8x16.swizzle (local.get $lo1) (v128.and (local.get $v) (local.get $low)))
          (i8x16.swizzle (local.get $hi1) (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $low))))))
        (local.set $v (v128.load offset=2 (local.get $i)))
        (local.set $m (v128.and (local.get $m) (v128.and
          (i8x16.swizzle (local.get $lo2) (v128.and (local.get $v) (local.get $low)))
          (i8x16.swizzle (local.get $hi2) (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $low))))))
        (local.set $bits (i32.xor (i8x16.bitmask (i8x16.eq (local.get $m) (local.get $zero))) (i32.const 0xffff)))
        (if (i32.ne (local.get $bits) (i32.const 0))
          (then
            (local.set $p (i32.add (local.get $i) (i32.ctz (local.get $bits))))
            (return (select (local.get $p) (local.get $end) (i32.lt_u (local.get $p) (local.get $end))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $blocks)))
    (local.get $end)))
