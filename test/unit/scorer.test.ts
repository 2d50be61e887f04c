import { describe, expect, it } from 'vitest';
import { loadXgbModel, UnsupportedModelError } from '../../core/scorer/xgboost.ts';

interface TreeJson {
  left_children: number[];
  right_children: number[];
  split_indices: number[];
  split_conditions: number[];
  default_left: (number | boolean)[];
  split_type?: number[];
}

interface ModelOptions {
  trees: TreeJson[];
  objective?: string;
  booster?: string;
  baseScore?: string;
  numFeature?: number;
}

/** The shape XGBoost 1.7 writes with `save_model('model.json')`, reduced to what scoring reads. */
function modelJson({
  trees,
  objective = 'binary:logistic',
  booster = 'gbtree',
  baseScore = '5E-1',
  numFeature = 2,
}: ModelOptions) {
  return {
    learner: {
      attributes: {},
      feature_names: [],
      feature_types: [],
      gradient_booster: {
        model: {
          gbtree_model_param: {
            num_parallel_tree: '1',
            num_trees: String(trees.length),
            size_leaf_vector: '0',
          },
          tree_info: trees.map(() => 0),
          trees: trees.map((tree, id) => ({
            ...tree,
            id,
            split_type: tree.split_type ?? tree.left_children.map(() => 0),
            tree_param: {
              num_deleted: '0',
              num_feature: String(numFeature),
              num_nodes: String(tree.left_children.length),
              size_leaf_vector: '0',
            },
          })),
        },
        name: booster,
      },
      learner_model_param: {
        base_score: baseScore,
        boost_from_average: '1',
        num_class: '0',
        num_feature: String(numFeature),
        num_target: '1',
      },
      objective: { name: objective, reg_loss_param: { scale_pos_weight: '1' } },
    },
    version: [1, 7, 4],
  };
}

/** A decision stump: `x[feature] < threshold` goes to the left leaf. */
function stump(
  feature: number,
  threshold: number,
  defaultLeft: number | boolean,
  left: number,
  right: number,
) {
  return {
    left_children: [1, -1, -1],
    right_children: [2, -1, -1],
    split_indices: [feature, 0, 0],
    split_conditions: [threshold, left, right],
    default_left: [defaultLeft, 0, 0],
  };
}

/** Leaf values as the raw margin: identity output, and a zero base score adds nothing. */
function rawModel(trees: TreeJson[], numFeature = 2) {
  return loadXgbModel(modelJson({ trees, objective: 'reg:squarederror', baseScore: '0E0', numFeature }));
}

const sigmoid = (m: number) => 1 / (1 + Math.exp(-m));

describe('loadXgbModel routing', () => {
  it('sends a value below the threshold left and a value at or above it right', () => {
    const model = rawModel([stump(1, 2.5, 0, -1, 1)]);

    expect(model.predictOne([100, 2.4])).toBe(-1);
    expect(model.predictOne([-100, 2.5])).toBe(1);
    expect(model.predictOne([0, 3])).toBe(1);
  });

  it('sends a missing value (NaN) the default direction of the node', () => {
    const defaultLeft = rawModel([stump(0, 0, 1, -1, 1)]);
    const defaultRight = rawModel([stump(0, 0, 0, -1, 1)]);
    const booleanFlag = rawModel([stump(0, 0, true, -1, 1)]);

    expect(defaultLeft.predictOne([Number.NaN, 0])).toBe(-1);
    expect(defaultRight.predictOne([Number.NaN, 0])).toBe(1);
    expect(booleanFlag.predictOne([Number.NaN, 0])).toBe(-1);
    expect(defaultLeft.predictBatch([[Number.NaN, 0]])[0]).toBe(-1);
    expect(defaultRight.predictBatch([[Number.NaN, 0]])[0]).toBe(1);
  });

  it('routes infinities by comparison, not as missing values', () => {
    const model = rawModel([stump(0, 0, 1, -1, 1)]);

    expect(model.predictOne([Number.POSITIVE_INFINITY, 0])).toBe(1);
    expect(model.predictBatch([[Number.POSITIVE_INFINITY, 0]])[0]).toBe(1);
    expect(model.predictBatch([[Number.NEGATIVE_INFINITY, 0]])[0]).toBe(-1);
  });

  it('compares in float32: a value that rounds to the threshold goes right', () => {
    // 0.1 is not a float32; the stored threshold is fround(0.1) = 0.100000001490116..., which is
    // above the double 0.1. XGBoost rounds the input first, so 0.1 equals the threshold: right.
    const threshold = Math.fround(0.1);
    const model = rawModel([stump(0, threshold, 0, -1, 1)]);
    const justBelowInDouble = threshold - 1e-12;
    const previousFloat32 = Math.fround(threshold - 2 ** -28);

    expect(0.1 < threshold).toBe(true);
    expect(Math.fround(justBelowInDouble)).toBe(threshold);
    expect(previousFloat32).toBeLessThan(threshold);
    expect(model.predictOne([0.1, 0])).toBe(1);
    expect(model.predictOne([justBelowInDouble, 0])).toBe(1);
    expect(model.predictOne([previousFloat32, 0])).toBe(-1);
    expect(
      Array.from(
        model.predictBatch([
          [0.1, 0],
          [justBelowInDouble, 0],
          [previousFloat32, 0],
        ]),
      ),
    ).toEqual([1, 1, -1]);
  });

  it('reads a threshold written with more digits than float32 holds as its float32 value', () => {
    const model = rawModel([stump(0, 0.1, 0, -1, 1)]);

    expect(model.predictOne([Math.fround(0.1), 0])).toBe(1);
  });

  it('walks trees whose node ids are not in breadth-first order and whose leaves sit at different depths', () => {
    // node 0: x0 < 0 ? node 2 : node 1 (leaf 10); node 2: x1 < 0 ? node 3 (leaf 1) : node 4 (leaf 2)
    const tree = {
      left_children: [2, -1, 3, -1, -1],
      right_children: [1, -1, 4, -1, -1],
      split_indices: [0, 0, 1, 0, 0],
      split_conditions: [0, 10, 0, 1, 2],
      default_left: [0, 0, 1, 0, 0],
    };
    const model = rawModel([tree]);
    const rows = [
      [1, -1],
      [-1, -1],
      [-1, 1],
      [-1, Number.NaN],
      [Number.NaN, -1],
    ];

    expect(rows.map((row) => model.predictOne(row))).toEqual([10, 1, 2, 1, 10]);
    expect(Array.from(model.predictBatch(rows))).toEqual([10, 1, 2, 1, 10]);
  });

  it('sums trees in order in float32, as XGBoost does', () => {
    // 2^24 + 1 rounds back to 2^24 in float32, so each +1 is lost; a float64 sum would give 2^24 + 2.
    const model = rawModel([stump(0, 0, 0, 2 ** 24, 2 ** 24), stump(0, 0, 0, 1, 1), stump(0, 0, 0, 1, 1)]);

    expect(model.predictOne([0, 0])).toBe(2 ** 24);
    expect(model.predictBatch([[0, 0]])[0]).toBe(2 ** 24);
  });

  it('gives the same predictions from predictOne, predictBatch and predictMatrix', () => {
    const trees = Array.from({ length: 7 }, (_, i) =>
      stump(i % 2, i / 10, i % 3 === 0 ? 1 : 0, -i / 10, i / 20),
    );
    const model = loadXgbModel(modelJson({ trees }));
    const rows = Array.from({ length: 150 }, (_, i) => [
      i % 7 === 0 ? Number.NaN : Math.sin(i),
      i % 5 === 0 ? Number.NaN : Math.cos(i),
    ]);

    const one = rows.map((row) => model.predictOne(row));
    const batch = Array.from(model.predictBatch(rows));
    const matrix = Array.from(model.predictMatrix(new Float64Array(rows.flat())));

    expect(batch).toEqual(one);
    expect(matrix).toEqual(one);
    expect(model.numTrees).toBe(7);
    expect(model.numFeatures).toBe(2);
  });
});

describe('loadXgbModel objectives and base_score', () => {
  it('turns the leaf margin into a probability for binary:logistic with base_score 0.5', () => {
    const model = loadXgbModel(JSON.stringify(modelJson({ trees: [stump(0, 0, 0, -0.4, 0.4)] })));

    expect(model.objective).toBe('binary:logistic');
    expect(model.predictOne([-1, 0])).toBeCloseTo(sigmoid(-0.4), 7);
    expect(model.predictOne([1, 0])).toBeCloseTo(sigmoid(0.4), 7);
  });

  it('starts the margin at logit(base_score)', () => {
    const model = loadXgbModel(modelJson({ trees: [stump(0, 0, 0, -0.4, 0.4)], baseScore: '2.5E-1' }));

    expect(model.predictOne([1, 0])).toBeCloseTo(sigmoid(Math.log(0.25 / 0.75) + 0.4), 7);
    expect(model.predictOne([-1, 0])).toBeCloseTo(sigmoid(Math.log(0.25 / 0.75) - 0.4), 7);
  });

  it('adds base_score as a margin, untransformed, for binary:logitraw and reg:squarederror', () => {
    const trees = [stump(0, 0, 0, -0.4, 0.4)];
    const logitraw = loadXgbModel(modelJson({ trees, objective: 'binary:logitraw', baseScore: '3E-1' }));
    const squared = loadXgbModel(modelJson({ trees, objective: 'reg:squarederror', baseScore: '3E-1' }));

    expect(logitraw.predictOne([1, 0])).toBeCloseTo(0.7, 6);
    expect(squared.predictOne([-1, 0])).toBeCloseTo(-0.1, 6);
  });

  it('accepts reg:logistic like binary:logistic', () => {
    const model = loadXgbModel(modelJson({ trees: [stump(0, 0, 0, -0.4, 0.4)], objective: 'reg:logistic' }));

    expect(model.predictOne([1, 0])).toBeCloseTo(sigmoid(0.4), 7);
  });
});

describe('loadXgbModel errors', () => {
  it('fails with UnsupportedModelError naming the objective and the supported ones', () => {
    const load = () =>
      loadXgbModel(modelJson({ trees: [stump(0, 0, 0, 1, 2)], objective: 'multi:softprob' }));

    expect(load).toThrow(UnsupportedModelError);
    expect(load).toThrow(/"multi:softprob".*binary:logistic/);
  });

  it.each(['dart', 'gblinear'])('fails with UnsupportedModelError for the %s booster', (booster) => {
    const load = () => loadXgbModel(modelJson({ trees: [stump(0, 0, 0, 1, 2)], booster }));

    expect(load).toThrow(UnsupportedModelError);
    expect(load).toThrow(new RegExp(`"${booster}".*gbtree`));
  });

  it('fails with UnsupportedModelError for categorical splits', () => {
    const tree = { ...stump(0, 0, 0, 1, 2), split_type: [1, 0, 0] };

    expect(() => loadXgbModel(modelJson({ trees: [tree] }))).toThrow(UnsupportedModelError);
  });

  it('names both counts when a row has the wrong number of features', () => {
    const model = loadXgbModel(modelJson({ trees: [stump(0, 0, 0, 1, 2)], numFeature: 2 }));

    expect(() => model.predictOne([1, 2, 3])).toThrow('row has 3 values but the model expects 2 features');
    expect(() => model.predictBatch([[1, 2], [1]])).toThrow(
      'row 1 has 1 values but the model expects 2 features',
    );
    expect(() => model.predictMatrix([1, 2, 3])).toThrow(/3 values.*2 features/);
  });

  it('names the missing key', () => {
    const doc = modelJson({ trees: [stump(0, 0, 0, 1, 2)] });
    const { trees: _trees, ...modelWithoutTrees } = doc.learner.gradient_booster.model;
    const noTrees = {
      learner: {
        ...doc.learner,
        gradient_booster: { ...doc.learner.gradient_booster, model: modelWithoutTrees },
      },
    };
    const { num_feature: _nf, ...paramWithoutFeatures } = doc.learner.learner_model_param;
    const noFeatures = { learner: { ...doc.learner, learner_model_param: paramWithoutFeatures } };

    expect(() => loadXgbModel(noTrees)).toThrow('"learner.gradient_booster.model.trees"');
    expect(() => loadXgbModel(noFeatures)).toThrow('"learner.learner_model_param.num_feature"');
    expect(() => loadXgbModel({ version: [1, 7, 4] })).toThrow('missing "learner"');
  });

  it('names the tree and key when a tree array is missing or malformed', () => {
    const { default_left: _dl, ...withoutDefaults } = stump(0, 0, 0, 1, 2);
    const badChild = { ...stump(0, 0, 0, 1, 2), right_children: [7, -1, -1] };
    const badFeature = stump(5, 0, 0, 1, 2);

    expect(() => loadXgbModel(modelJson({ trees: [withoutDefaults as TreeJson] }))).toThrow(
      '"learner.gradient_booster.model.trees[0].default_left"',
    );
    expect(() => loadXgbModel(modelJson({ trees: [badChild] }))).toThrow(
      /trees\[0\] node 0 has an invalid child 7/,
    );
    expect(() => loadXgbModel(modelJson({ trees: [badFeature] }))).toThrow(/splits on feature 5.*2 features/);
  });

  it('reports text that is not JSON', () => {
    expect(() => loadXgbModel('{"learner": ')).toThrow(/not valid JSON/);
  });

  it('reports a base_score that is not a number', () => {
    expect(() => loadXgbModel(modelJson({ trees: [stump(0, 0, 0, 1, 2)], baseScore: 'half' }))).toThrow(
      'base_score must be a number, got "half"',
    );
  });
});
