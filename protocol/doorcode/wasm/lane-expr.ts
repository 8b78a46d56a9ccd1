/**
 * Expressions over four 32-bit lanes, folded at generation time and emitted as WebAssembly SIMD.
 * A value is either a constant shared by all lanes or a local; operations on constants are
 * computed here, so message words that are fixed (padding, lengths, "code") cost nothing at run
 * time — the generator specialises SHA-256 to the exact messages of ARCHITECTURE.md §5.
 */
import { SimdOp, ValueType, type FunctionBuilder } from '../../wasm/wasm-writer.js';

export type LaneExpr =
  | { readonly kind: 'const'; readonly value: number }
  | { readonly kind: 'local'; readonly index: number }
  /** A `v128.load` from the address in i32 local `address`, plus a static offset. */
  | { readonly kind: 'load'; readonly address: number; readonly offset: number }
  | { readonly kind: 'binary'; readonly op: number; readonly a: LaneExpr; readonly b: LaneExpr }
  | { readonly kind: 'shift'; readonly op: number; readonly a: LaneExpr; readonly bits: number }
  | {
      readonly kind: 'select';
      readonly ifSet: LaneExpr;
      readonly ifClear: LaneExpr;
      readonly mask: LaneExpr;
    };

export const constant = (value: number): LaneExpr => ({ kind: 'const', value: value >>> 0 });
export const local = (index: number): LaneExpr => ({ kind: 'local', index });
export const load = (address: number, offset: number): LaneExpr => ({
  kind: 'load',
  address,
  offset,
});

const isConst = (x: LaneExpr, value?: number): x is { kind: 'const'; value: number } =>
  x.kind === 'const' && (value === undefined || x.value === value);

export function add(a: LaneExpr, b: LaneExpr): LaneExpr {
  if (isConst(a) && isConst(b)) return constant(a.value + b.value);
  if (isConst(a, 0)) return b;
  if (isConst(b, 0)) return a;
  return { kind: 'binary', op: SimdOp.i32x4Add, a, b };
}

export function xor(a: LaneExpr, b: LaneExpr): LaneExpr {
  if (isConst(a) && isConst(b)) return constant(a.value ^ b.value);
  if (isConst(a, 0)) return b;
  if (isConst(b, 0)) return a;
  return { kind: 'binary', op: SimdOp.v128Xor, a, b };
}

export function or(a: LaneExpr, b: LaneExpr): LaneExpr {
  if (isConst(a) && isConst(b)) return constant(a.value | b.value);
  if (isConst(a, 0)) return b;
  if (isConst(b, 0)) return a;
  return { kind: 'binary', op: SimdOp.v128Or, a, b };
}

export function and(a: LaneExpr, b: LaneExpr): LaneExpr {
  if (isConst(a) && isConst(b)) return constant(a.value & b.value);
  if (isConst(a, 0) || isConst(b, 0)) return constant(0);
  return { kind: 'binary', op: SimdOp.v128And, a, b };
}

export function shr(a: LaneExpr, bits: number): LaneExpr {
  if (isConst(a)) return constant(a.value >>> bits);
  return { kind: 'shift', op: SimdOp.i32x4ShrU, a, bits };
}

export function shl(a: LaneExpr, bits: number): LaneExpr {
  if (isConst(a)) return constant(a.value << bits);
  return { kind: 'shift', op: SimdOp.i32x4Shl, a, bits };
}

/** Rotate right; SIMD has no rotate, so two shifts and an OR. */
export const rotr = (a: LaneExpr, bits: number): LaneExpr => or(shr(a, bits), shl(a, 32 - bits));
/** Rotate left. */
export const rotl = (a: LaneExpr, bits: number): LaneExpr => rotr(a, 32 - bits);

/** Bitwise `mask ? ifSet : ifClear` (one `v128.bitselect`). */
export function select(ifSet: LaneExpr, ifClear: LaneExpr, mask: LaneExpr): LaneExpr {
  if (isConst(ifSet) && isConst(ifClear) && isConst(mask)) {
    return constant((ifSet.value & mask.value) | (ifClear.value & ~mask.value));
  }
  return { kind: 'select', ifSet, ifClear, mask };
}

/** Pushes the value of `x` onto the operand stack. */
export function emit(f: FunctionBuilder, x: LaneExpr): void {
  switch (x.kind) {
    case 'const':
      f.v128ConstSplat(x.value);
      return;
    case 'local':
      f.opIndex(0x20, x.index);
      return;
    case 'load':
      f.opIndex(0x20, x.address).simdMemory(SimdOp.v128Load, 4, x.offset);
      return;
    case 'binary':
      emit(f, x.a);
      emit(f, x.b);
      f.simd(x.op);
      return;
    case 'shift':
      emit(f, x.a);
      f.i32Const(x.bits);
      f.simd(x.op);
      return;
    case 'select':
      emit(f, x.ifSet);
      emit(f, x.ifClear);
      emit(f, x.mask);
      f.simd(SimdOp.v128Bitselect);
      return;
  }
}

/**
 * Evaluates `x` into `target` (a v128 local) and returns the expression to use from now on: the
 * constant itself when `x` folded to one, so constants keep folding downstream.
 */
export function assign(f: FunctionBuilder, target: number, x: LaneExpr): LaneExpr {
  if (x.kind === 'const' || x.kind === 'local') return x;
  emit(f, x);
  f.opIndex(0x21, target);
  return local(target);
}

/** Declares `count` v128 locals. */
export function v128Locals(f: FunctionBuilder, count: number): number[] {
  return Array.from({ length: count }, () => f.local(ValueType.v128));
}
