/**
 * A minimal WebAssembly binary writer: just enough of the module format (WebAssembly Core
 * Specification 2.0, §5 "Binary Format"), of the scalar i32/i64 instructions and of the 128-bit
 * SIMD instruction set to assemble keyway's kernels (the doorcode kernel, the small-input
 * symmetric crypto) at load time. The kernels' source is the TypeScript that drives this writer,
 * so the package builds its WebAssembly from code kept in this repository, with no toolchain.
 */

/** Value types, spec §5.3.1. */
export const ValueType = { i32: 0x7f, i64: 0x7e, v128: 0x7b } as const;
export type ValueType = (typeof ValueType)[keyof typeof ValueType];

/** Single-byte opcodes used by the kernels, spec §5.4. */
export const Op = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  br: 0x0c,
  brIf: 0x0d,
  end: 0x0b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  i64Load: 0x29,
  i32Load8U: 0x2d,
  i32Store: 0x36,
  i64Store: 0x37,
  i32Store8: 0x3a,
  i32Const: 0x41,
  i64Const: 0x42,
  i32Eqz: 0x45,
  i32LtU: 0x49,
  i32GeU: 0x4f,
  i64Eqz: 0x50,
  i64LtU: 0x54,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32RemU: 0x70,
  i32And: 0x71,
  i32Or: 0x72,
  i32Xor: 0x73,
  i32Shl: 0x74,
  i32ShrU: 0x76,
  i32Rotl: 0x77,
  i32Rotr: 0x78,
  i64Add: 0x7c,
  i64Sub: 0x7d,
  i64Mul: 0x7e,
  i64And: 0x83,
  i64Or: 0x84,
  i64Xor: 0x85,
  i64Shl: 0x86,
  i64ShrU: 0x88,
  i32WrapI64: 0xa7,
  i64ExtendI32U: 0xad,
  simdPrefix: 0xfd,
} as const;

/** 128-bit SIMD opcodes (after the 0xfd prefix), spec §5.4.8. */
export const SimdOp = {
  v128Load: 0x00,
  v128Store: 0x0b,
  v128Const: 0x0c,
  i32x4Splat: 0x11,
  i32x4ExtractLane: 0x1b,
  v128And: 0x4e,
  v128AndNot: 0x4f,
  v128Or: 0x50,
  v128Xor: 0x51,
  v128Bitselect: 0x52,
  i32x4Shl: 0xab,
  i32x4ShrU: 0xad,
  i32x4Add: 0xae,
} as const;

/** Appends unsigned LEB128 (spec §5.2.2). */
function pushU32(out: number[], value: number): void {
  let v = value >>> 0;
  do {
    const byte = v & 0x7f;
    v >>>= 7;
    out.push(v === 0 ? byte : byte | 0x80);
  } while (v !== 0);
}

/** Appends signed LEB128 for a 64-bit value (spec §5.2.2). */
function pushS64(out: number[], value: bigint): void {
  let v = BigInt.asIntN(64, value);
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    const done = (v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return;
  }
}

/** Appends signed LEB128 for a 32-bit value (spec §5.2.2). */
function pushS32(out: number[], value: number): void {
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return;
  }
}

/** The body of one function: its locals and its instruction stream. */
export class FunctionBuilder {
  private readonly code: number[] = [];
  private readonly localTypes: ValueType[] = [];

  /** @param paramCount the function's parameters occupy local indices `0 .. paramCount-1`. */
  constructor(private readonly paramCount: number) {}

  /** Declares a new local and returns its index. */
  local(type: ValueType): number {
    this.localTypes.push(type);
    return this.paramCount + this.localTypes.length - 1;
  }

  op(opcode: number): this {
    this.code.push(opcode);
    return this;
  }

  /** An instruction with one unsigned LEB128 immediate (locals, branch depths). */
  opIndex(opcode: number, index: number): this {
    this.code.push(opcode);
    pushU32(this.code, index);
    return this;
  }

  i32Const(value: number): this {
    this.code.push(Op.i32Const);
    pushS32(this.code, value);
    return this;
  }

  /** `i64.const`; the value is taken modulo 2^64. */
  i64Const(value: bigint): this {
    this.code.push(Op.i64Const);
    pushS64(this.code, value);
    return this;
  }

  /** A memory access with its alignment exponent and static offset (spec §5.4.6 memarg). */
  memory(opcode: number, alignLog2: number, offset: number): this {
    this.code.push(opcode);
    pushU32(this.code, alignLog2);
    pushU32(this.code, offset);
    return this;
  }

  simd(opcode: number): this {
    this.code.push(Op.simdPrefix);
    pushU32(this.code, opcode);
    return this;
  }

  simdMemory(opcode: number, alignLog2: number, offset: number): this {
    this.simd(opcode);
    pushU32(this.code, alignLog2);
    pushU32(this.code, offset);
    return this;
  }

  simdLane(opcode: number, lane: number): this {
    this.simd(opcode);
    this.code.push(lane);
    return this;
  }

  /** `v128.const` with the same 32-bit value in all four lanes. */
  v128ConstSplat(value: number): this {
    return this.v128ConstLanes([value, value, value, value]);
  }

  /** `v128.const` with one 32-bit value per lane. */
  v128ConstLanes(values: readonly [number, number, number, number]): this {
    this.simd(SimdOp.v128Const);
    for (const value of values) {
      this.code.push(
        value & 0xff,
        (value >>> 8) & 0xff,
        (value >>> 16) & 0xff,
        (value >>> 24) & 0xff,
      );
    }
    return this;
  }

  /** Block type `[] -> []` (spec §5.4.1). */
  blockVoid(opcode: typeof Op.block | typeof Op.loop | typeof Op.if): this {
    this.code.push(opcode, 0x40);
    return this;
  }

  /** Emits `while (counter != 0) { body(); counter-- }` over the i32 local `counter`. */
  countedLoop(counter: number, body: () => void): this {
    this.blockVoid(Op.block).blockVoid(Op.loop);
    this.opIndex(Op.localGet, counter).op(Op.i32Eqz).opIndex(Op.brIf, 1);
    body();
    this.opIndex(Op.localGet, counter).i32Const(1).op(Op.i32Sub).opIndex(Op.localSet, counter);
    this.opIndex(Op.br, 0).op(Op.end).op(Op.end);
    return this;
  }

  /** Emits `target += amount` for an i32 local. */
  addToLocal(target: number, amount: number): this {
    return this.opIndex(Op.localGet, target)
      .i32Const(amount)
      .op(Op.i32Add)
      .opIndex(Op.localSet, target);
  }

  /** The encoded body: locals grouped by runs of one type, then the code and `end`. */
  encode(): number[] {
    const runs: [number, ValueType][] = [];
    for (const type of this.localTypes) {
      const last = runs[runs.length - 1];
      if (last !== undefined && last[1] === type) last[0]++;
      else runs.push([1, type]);
    }
    const body: number[] = [];
    pushU32(body, runs.length);
    for (const [count, type] of runs) {
      pushU32(body, count);
      body.push(type);
    }
    body.push(...this.code, Op.end);
    const out: number[] = [];
    pushU32(out, body.length);
    for (const byte of body) out.push(byte);
    return out;
  }
}

interface ExportedFunction {
  readonly name: string;
  readonly params: readonly ValueType[];
  readonly body: FunctionBuilder;
}

/** A module with one exported memory and exported functions returning nothing. */
export class ModuleBuilder {
  private readonly functions: ExportedFunction[] = [];

  constructor(private readonly memoryPages: number) {}

  /** Adds an exported function `(params) -> ()` and returns its builder. */
  func(name: string, params: readonly ValueType[]): FunctionBuilder {
    const body = new FunctionBuilder(params.length);
    this.functions.push({ name, params, body });
    return body;
  }

  /** The binary module, spec §5.5. */
  encode(): Uint8Array<ArrayBuffer> {
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const section = (id: number, content: number[]): void => {
      out.push(id);
      pushU32(out, content.length);
      for (const byte of content) out.push(byte);
    };
    const vector = (items: number[][]): number[] => {
      const v: number[] = [];
      pushU32(v, items.length);
      for (const item of items) v.push(...item);
      return v;
    };
    const name = (text: string): number[] => {
      const bytes = Array.from(text, (c) => c.charCodeAt(0));
      const v: number[] = [];
      pushU32(v, bytes.length);
      return v.concat(bytes);
    };

    // One type per function keeps the writer simple; the kernels have few functions.
    section(1, vector(this.functions.map((f) => [0x60, ...vector(f.params.map((p) => [p])), 0])));
    section(
      3,
      vector(
        this.functions.map((_, i) => {
          const v: number[] = [];
          pushU32(v, i);
          return v;
        }),
      ),
    );
    const limits: number[] = [0x00];
    pushU32(limits, this.memoryPages);
    section(5, vector([limits]));
    const exports = this.functions.map((f, i) => {
      const v = [...name(f.name), 0x00];
      pushU32(v, i);
      return v;
    });
    exports.push([...name('memory'), 0x02, 0x00]);
    section(7, vector(exports));
    section(10, vector(this.functions.map((f) => f.body.encode())));
    return new Uint8Array(out);
  }
}

/**
 * A factory of kernel instances, each with its own memory and the exports `Exports`. The module
 * is assembled and compiled on the first instance only, then shared by every later instance of
 * this thread: assembling costs milliseconds once.
 */
export function instanceFactory<Exports>(
  memoryPages: number,
  build: (m: ModuleBuilder) => void,
): () => Exports {
  let compiled: WebAssembly.Module | undefined;
  return () => {
    if (compiled === undefined) {
      const m = new ModuleBuilder(memoryPages);
      build(m);
      compiled = new WebAssembly.Module(m.encode());
    }
    return new WebAssembly.Instance(compiled).exports as Exports;
  };
}
