/**
 * Scores XGBoost tree models from their JSON form (`booster.save_model('model.json')`, XGBoost 1.7) in
 * plain TypeScript, so a Lambda (or the local twin) can serve a model without a Python runtime or a
 * native add-on.
 *
 * It is hand-written because there is no maintained XGBoost scorer for TypeScript, and a native binding
 * would tie the Lambda bundle to one OS, CPU architecture and libc. The JSON format is small, and
 * matching XGBoost's CPU predictor exactly takes care in three places, which the integration test
 * checks against XGBoost itself:
 *   - a feature value is rounded to float32 before `value < threshold` (thresholds are float32);
 *   - a missing value (NaN) follows the node's default direction;
 *   - the margin is accumulated in float32, tree by tree, starting from the base margin.
 */

/** Thrown when a model is valid XGBoost but uses something this scorer does not implement. */
export class UnsupportedModelError extends Error {
  override name = 'UnsupportedModelError';
}

/** A loaded, immutable XGBoost model. Safe to share between concurrent requests. */
export interface XgbModel {
  /** Number of features a row must have (`learner_model_param.num_feature`). */
  readonly numFeatures: number;
  /** Number of trees summed for a prediction. */
  readonly numTrees: number;
  /** XGBoost objective name, e.g. `binary:logistic`. */
  readonly objective: string;
  /** Prediction for one row (a probability for the logistic objectives); missing values are NaN. */
  predictOne(row: ArrayLike<number>): number;
  /** Predictions for many rows; faster per row than {@link XgbModel.predictOne}. */
  predictBatch(rows: ArrayLike<number>[]): Float64Array;
  /**
   * Predictions for rows stored one after another in one array (row-major, `numFeatures` values per
   * row), e.g. a batch-transform file parsed into a Float64Array. Same results as `predictBatch`.
   */
  predictMatrix(values: ArrayLike<number>): Float64Array;
}

/** Objectives this scorer implements, with how base_score becomes a margin and how a margin becomes an output. */
const OBJECTIVES: Readonly<
  Record<string, { baseMargin: (p: number) => number; output: (m: number) => number }>
> = {
  'binary:logistic': { baseMargin: probToMargin, output: sigmoid },
  'reg:logistic': { baseMargin: probToMargin, output: sigmoid },
  'binary:logitraw': { baseMargin: (p) => p, output: (m) => m },
  'reg:squarederror': { baseMargin: (p) => p, output: (m) => m },
};

/** Supported objective names, for error messages and callers that pre-check a model. */
export const SUPPORTED_OBJECTIVES: readonly string[] = Object.keys(OBJECTIVES);

/** Rows per block in the batch walk: enough to reuse a group of trees while it is in L1, small enough for the block to stay there too. */
const BLOCK_ROWS = 64;

const f32 = Math.fround;

// XGBoost computes these in float (`-logf(1/p - 1)`, `1/(1+expf(-x))`); rounding each step to float32
// keeps the result within an ulp of it.
function probToMargin(p: number): number {
  return f32(-Math.log(f32(f32(1 / p) - 1)));
}

function sigmoid(margin: number): number {
  return f32(1 / f32(1 + f32(Math.exp(-margin))));
}

/**
 * Loads a model from the text of an XGBoost `model.json` (also as UTF-8 bytes) or from its parsed
 * object.
 *
 * @throws UnsupportedModelError for a booster other than gbtree, an unsupported objective, multi-class
 *   or multi-target models and categorical splits.
 * @throws Error naming the key or value that is missing or malformed.
 */
export function loadXgbModel(json: string | unknown): XgbModel {
  let doc: unknown = json;
  if (json instanceof Uint8Array) doc = new TextDecoder().decode(json);
  if (typeof doc === 'string') {
    try {
      doc = JSON.parse(doc);
    } catch (err) {
      throw new Error(`XGBoost model is not valid JSON: ${(err as Error).message}`);
    }
  }

  const learner = obj(doc, 'learner', '');
  const param = obj(learner, 'learner_model_param', 'learner');
  const objective = str(obj(learner, 'objective', 'learner'), 'name', 'learner.objective');
  const booster = obj(learner, 'gradient_booster', 'learner');
  const boosterName = str(booster, 'name', 'learner.gradient_booster');

  if (boosterName !== 'gbtree') {
    throw new UnsupportedModelError(
      `booster "${boosterName}" is not supported; only "gbtree" models can be scored (retrain with booster=gbtree)`,
    );
  }
  const spec = OBJECTIVES[objective];
  if (!spec) {
    throw new UnsupportedModelError(
      `objective "${objective}" is not supported; supported objectives: ${SUPPORTED_OBJECTIVES.join(', ')}`,
    );
  }
  const numClass = intParam(param, 'num_class', 0);
  if (numClass > 1) {
    throw new UnsupportedModelError(`multi-class models are not supported (num_class=${numClass})`);
  }
  const numTarget = intParam(param, 'num_target', 1);
  if (numTarget !== 1) {
    throw new UnsupportedModelError(`multi-target models are not supported (num_target=${numTarget})`);
  }
  const numFeatures = intParam(param, 'num_feature', undefined);
  if (numFeatures < 1) {
    throw new Error(`learner.learner_model_param.num_feature must be at least 1, got ${numFeatures}`);
  }
  const baseScore = parseBaseScore(param);
  const baseMargin = f32(spec.baseMargin(baseScore));
  if (!Number.isFinite(baseMargin)) {
    throw new Error(`base_score ${baseScore} gives no finite margin for objective "${objective}"`);
  }

  const model = obj(booster, 'model', 'learner.gradient_booster');
  const trees = model['trees'];
  if (!Array.isArray(trees)) {
    throw new Error('XGBoost model JSON is missing "learner.gradient_booster.model.trees" (an array)');
  }
  const treeInfo = model['tree_info'];
  if (Array.isArray(treeInfo) && treeInfo.some((group) => group !== 0)) {
    throw new UnsupportedModelError(
      'models with more than one output group (tree_info other than 0) are not supported',
    );
  }

  const forest = flattenTrees(trees, numFeatures);
  return new FlatForestModel(objective, numFeatures, baseMargin, spec.output, forest);
}

type JsonObject = Record<string, unknown>;

function obj(parent: unknown, key: string, path: string): JsonObject {
  const where = path ? `${path}.${key}` : key;
  if (typeof parent !== 'object' || parent === null || !(key in parent)) {
    throw new Error(`XGBoost model JSON is missing "${where}"`);
  }
  const value = (parent as JsonObject)[key];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`XGBoost model JSON "${where}" must be an object, got ${JSON.stringify(value)}`);
  }
  return value as JsonObject;
}

function str(parent: JsonObject, key: string, path: string): string {
  const value = parent[key];
  if (typeof value !== 'string') {
    throw new Error(
      value === undefined
        ? `XGBoost model JSON is missing "${path}.${key}"`
        : `XGBoost model JSON "${path}.${key}" must be a string, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

// XGBoost writes these parameters as strings ("4"); accept numbers as well for hand-built models.
function intParam(param: JsonObject, key: string, fallback: number | undefined): number {
  const raw = param[key];
  if (raw === undefined) {
    if (fallback === undefined) {
      throw new Error(`XGBoost model JSON is missing "learner.learner_model_param.${key}"`);
    }
    return fallback;
  }
  const value = typeof raw === 'string' ? Number(raw) : raw;
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    (typeof raw === 'string' && raw.trim() === '')
  ) {
    throw new Error(`learner.learner_model_param.${key} must be an integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function parseBaseScore(param: JsonObject): number {
  const raw = param['base_score'];
  if (raw === undefined) {
    throw new Error('XGBoost model JSON is missing "learner.learner_model_param.base_score"');
  }
  // XGBoost 2+/3 may write a one-element vector ("[5E-1]"); 1.7 writes a plain number string ("5E-1").
  const text = typeof raw === 'string' ? raw.trim().replace(/^\[(.*)\]$/, '$1') : raw;
  const value = typeof text === 'string' && text !== '' ? Number(text) : text;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new Error(`learner.learner_model_param.base_score must be a number, got ${JSON.stringify(raw)}`);
  }
  return f32(value);
}

/**
 * All trees in one buffer, four 32-bit words per node, addressed by `pos` = 4 × node number:
 *   [pos]     position of the right child; the left child is always 4 words before it, because
 *             nodes are renumbered breadth-first with siblings adjacent. A leaf points at itself.
 *   [pos + 1] where the walk reads the split feature in a prepared row (see `expandRows`):
 *             2 × feature index, plus 1 when the node sends missing values right.
 *   [pos + 2] split threshold (float32); NaN for a leaf, so every comparison fails and the walk
 *             stays on it.
 *   [pos + 3] leaf value (float32); 0 for a split.
 * A node's fields share a cache line, and because leaves point at themselves a walk can take the
 * tree's full depth without testing for a leaf.
 */
interface FlatForest {
  /** Root position of each tree. */
  readonly roots: Int32Array;
  /** Number of steps from the root to the deepest leaf, per tree. */
  readonly depths: Int32Array;
  readonly words: Int32Array;
  /** The same buffer as `words`, for the float fields. */
  readonly floats: Float32Array;
}

function flattenTrees(trees: unknown[], numFeatures: number): FlatForest {
  const parsed = trees.map((tree, t) => readTree(tree, t, numFeatures));
  const total = parsed.reduce((n, tree) => n + tree.order.length, 0);
  const buffer = new ArrayBuffer(total * 16);
  const forest: FlatForest = {
    roots: new Int32Array(parsed.length),
    depths: new Int32Array(parsed.length),
    words: new Int32Array(buffer),
    floats: new Float32Array(buffer),
  };
  const { words, floats } = forest;
  let offset = 0;
  parsed.forEach((tree, t) => {
    forest.roots[t] = 4 * offset;
    forest.depths[t] = tree.depth;
    const newIndex = new Int32Array(tree.left.length).fill(-1);
    tree.order.forEach((old, i) => {
      newIndex[old] = offset + i;
    });
    tree.order.forEach((old, i) => {
      const pos = 4 * (offset + i);
      const left = tree.left[old]!;
      if (left === -1) {
        words[pos] = pos;
        floats[pos + 2] = Number.NaN;
        floats[pos + 3] = tree.cond[old]!;
      } else {
        words[pos] = 4 * newIndex[left]! + 4;
        words[pos + 1] = 2 * tree.split[old]! + (tree.defaultLeft[old] ? 0 : 1);
        floats[pos + 2] = tree.cond[old]!;
      }
    });
    offset += tree.order.length;
  });
  return forest;
}

interface RawTree {
  readonly left: ArrayLike<number>;
  readonly split: ArrayLike<number>;
  readonly cond: ArrayLike<number>;
  readonly defaultLeft: ArrayLike<number>;
  /** Reachable node ids in the new (breadth-first, siblings adjacent) order. */
  readonly order: number[];
  readonly depth: number;
}

function readTree(tree: unknown, t: number, numFeatures: number): RawTree {
  const path = `learner.gradient_booster.model.trees[${t}]`;
  if (typeof tree !== 'object' || tree === null) throw new Error(`${path} must be an object`);
  const node = tree as JsonObject;
  const numbers = (key: string): number[] => {
    const value = node[key];
    if (!Array.isArray(value)) throw new Error(`XGBoost model JSON is missing "${path}.${key}" (an array)`);
    return value.map((v, i) => {
      const n = typeof v === 'boolean' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isFinite(n)) {
        throw new Error(`${path}.${key}[${i}] must be a finite number, got ${JSON.stringify(v)}`);
      }
      return n;
    });
  };
  const left = numbers('left_children');
  const right = numbers('right_children');
  const split = numbers('split_indices');
  const cond = numbers('split_conditions').map(f32);
  const defaultLeft = numbers('default_left');
  const size = left.length;
  if (size === 0) throw new Error(`${path} has no nodes`);
  for (const [key, arr] of [
    ['right_children', right],
    ['split_indices', split],
    ['split_conditions', cond],
    ['default_left', defaultLeft],
  ] as const) {
    if (arr.length !== size) {
      throw new Error(`${path}.${key} has ${arr.length} entries but left_children has ${size}`);
    }
  }
  const splitType = node['split_type'];
  if (Array.isArray(splitType) && splitType.some((s) => s !== 0)) {
    throw new UnsupportedModelError(`${path} has categorical splits, which are not supported`);
  }
  const leafVector = (node['tree_param'] as JsonObject | undefined)?.['size_leaf_vector'];
  if (leafVector !== undefined && Number(leafVector) > 1) {
    throw new UnsupportedModelError(
      `${path} has vector leaves (size_leaf_vector=${leafVector}), which are not supported`,
    );
  }

  const order: number[] = [];
  const seen = new Uint8Array(size);
  let frontier = [0];
  let depth = 0;
  seen[0] = 1;
  for (;;) {
    const next: number[] = [];
    for (const id of frontier) {
      order.push(id);
      const l = left[id]!;
      if (l === -1) continue;
      const r = right[id]!;
      for (const child of [l, r]) {
        if (!Number.isInteger(child) || child <= 0 || child >= size || seen[child]) {
          throw new Error(`${path} node ${id} has an invalid child ${child} (tree has ${size} nodes)`);
        }
        seen[child] = 1;
      }
      const f = split[id]!;
      if (!Number.isInteger(f) || f < 0 || f >= numFeatures) {
        throw new Error(
          `${path} node ${id} splits on feature ${f}, but the model has ${numFeatures} features`,
        );
      }
      next.push(l, r);
    }
    if (next.length === 0) break;
    frontier = next;
    depth += 1;
  }
  return { left, split, cond, defaultLeft, order, depth };
}

class FlatForestModel implements XgbModel {
  readonly numTrees: number;
  readonly #forest: FlatForest;
  readonly #baseMargin: number;
  readonly #output: (margin: number) => number;
  // Reused by predictOne, which runs to completion before another call can start.
  readonly #scratchRow: Float32Array;
  readonly #scratch: Float32Array;
  readonly #scratchMargin: Float32Array;

  constructor(
    readonly objective: string,
    readonly numFeatures: number,
    baseMargin: number,
    output: (margin: number) => number,
    forest: FlatForest,
  ) {
    this.numTrees = forest.roots.length;
    this.#forest = forest;
    this.#baseMargin = baseMargin;
    this.#output = output;
    this.#scratchRow = new Float32Array(numFeatures);
    this.#scratch = new Float32Array(2 * numFeatures);
    this.#scratchMargin = new Float32Array(1);
  }

  predictOne(row: ArrayLike<number>): number {
    const nf = this.numFeatures;
    if (row.length !== nf) {
      throw new Error(`row has ${row.length} values but the model expects ${nf} features`);
    }
    this.#scratchRow.set(row);
    expandRows(this.#scratchRow, 1, nf, this.#scratch);
    const margin = this.#scratchMargin;
    margin[0] = this.#baseMargin;
    walkBlock(this.#forest, this.#scratch, 1, nf, margin);
    return this.#output(margin[0]!);
  }

  predictBatch(rows: ArrayLike<number>[]): Float64Array {
    const nf = this.numFeatures;
    rows.forEach((row, i) => {
      if (row.length !== nf) {
        throw new Error(`row ${i} has ${row.length} values but the model expects ${nf} features`);
      }
    });
    return this.#predictBlocks(rows.length, (raw, start, count) => {
      for (let r = 0; r < count; r++) raw.set(rows[start + r]!, r * nf);
    });
  }

  predictMatrix(values: ArrayLike<number>): Float64Array {
    const nf = this.numFeatures;
    if (values.length % nf !== 0) {
      throw new Error(
        `matrix has ${values.length} values, which is not a whole number of rows of ${nf} features`,
      );
    }
    return this.#predictBlocks(values.length / nf, (raw, start, count) => {
      const from = start * nf;
      const to = from + count * nf;
      if (ArrayBuffer.isView(values) && 'subarray' in values) {
        raw.set((values as Float64Array).subarray(from, to));
      } else {
        for (let i = from; i < to; i++) raw[i - from] = values[i]!;
      }
    });
  }

  #predictBlocks(
    numRows: number,
    fill: (raw: Float32Array, start: number, count: number) => void,
  ): Float64Array {
    const nf = this.numFeatures;
    const out = new Float64Array(numRows);
    // Float32Array stores do the float32 rounding XGBoost applies to its inputs.
    const raw = new Float32Array(BLOCK_ROWS * nf);
    const block = new Float32Array(2 * BLOCK_ROWS * nf);
    const margin = new Float32Array(BLOCK_ROWS);
    for (let start = 0; start < numRows; start += BLOCK_ROWS) {
      const count = Math.min(BLOCK_ROWS, numRows - start);
      fill(raw, start, count);
      expandRows(raw, count, nf, block);
      margin.fill(this.#baseMargin, 0, count);
      walkBlock(this.#forest, block, count, nf, margin);
      for (let r = 0; r < count; r++) out[start + r] = this.#output(margin[r]!);
    }
    return out;
  }
}

/**
 * Writes each value twice: a missing value as -Infinity (below any threshold, so it goes left) and
 * then as +Infinity (goes right). A node reads the copy that matches its default direction, so the
 * walk needs no test for missing values. Real infinities compare the same way in both copies.
 */
function expandRows(raw: Float32Array, count: number, nf: number, block: Float32Array): void {
  for (let i = 0, end = count * nf; i < end; i++) {
    const x = raw[i]!;
    const missing = Number.isNaN(x);
    block[2 * i] = missing ? Number.NEGATIVE_INFINITY : x;
    block[2 * i + 1] = missing ? Number.POSITIVE_INFINITY : x;
  }
}

/**
 * Adds every tree's leaf value to each row's margin, in tree order and in float32 as XGBoost does.
 *
 * A step is arithmetic on the comparison (unary plus gives 0/1, the left child is 4 words before the
 * right) rather than a branch, so there is nothing for the CPU to mispredict; every walk takes the
 * tree's full depth, which is harmless because leaves point at themselves. Four trees are walked
 * side by side so their independent loads overlap, and each group of four is run over the whole
 * block while its nodes are in L1.
 */
function walkBlock(
  forest: FlatForest,
  block: Float32Array,
  count: number,
  nf: number,
  margin: Float32Array,
): void {
  const { roots, depths, words, floats } = forest;
  const numTrees = roots.length;
  let t = 0;
  for (; t + 4 <= numTrees; t += 4) {
    const root0 = roots[t]!;
    const root1 = roots[t + 1]!;
    const root2 = roots[t + 2]!;
    const root3 = roots[t + 3]!;
    const depth = Math.max(depths[t]!, depths[t + 1]!, depths[t + 2]!, depths[t + 3]!);
    for (let r = 0, base = 0; r < count; r++, base += 2 * nf) {
      let p0 = root0;
      let p1 = root1;
      let p2 = root2;
      let p3 = root3;
      for (let d = 0; d < depth; d++) {
        p0 = words[p0]! - 4 * +(block[base + words[p0 + 1]!]! < floats[p0 + 2]!);
        p1 = words[p1]! - 4 * +(block[base + words[p1 + 1]!]! < floats[p1 + 2]!);
        p2 = words[p2]! - 4 * +(block[base + words[p2 + 1]!]! < floats[p2 + 2]!);
        p3 = words[p3]! - 4 * +(block[base + words[p3 + 1]!]! < floats[p3 + 2]!);
      }
      let m = margin[r]!;
      m = f32(m + floats[p0 + 3]!);
      m = f32(m + floats[p1 + 3]!);
      m = f32(m + floats[p2 + 3]!);
      // The Float32Array store rounds this last sum to float32 too.
      margin[r] = m + floats[p3 + 3]!;
    }
  }
  for (; t < numTrees; t++) {
    const root = roots[t]!;
    const depth = depths[t]!;
    for (let r = 0, base = 0; r < count; r++, base += 2 * nf) {
      let p = root;
      for (let d = 0; d < depth; d++) {
        p = words[p]! - 4 * +(block[base + words[p + 1]!]! < floats[p + 2]!);
      }
      margin[r] = margin[r]! + floats[p + 3]!;
    }
  }
}
