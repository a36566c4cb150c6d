// The tape. Every differentiable op that produced a tensor with requiresGrad leaves a
// GradFn on it: the tensors it read, and a closure mapping the output's gradient to one
// gradient per input. backward() walks the graph in reverse topological order.
import { Tensor } from '../tensor';

export interface GradFn {
  /** Op name, for error messages and debugging ("conv2d", "add", ...). */
  readonly name: string;
  readonly inputs: ReadonlyArray<Tensor | null>;
  /** Gradients w.r.t. each input (null where an input needs none). Runs with grad off. */
  backward(gradOutput: Tensor): Array<Tensor | null>;
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording the tape (like torch.no_grad). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Turns recording on or off; returns the previous state. */
export function setGradEnabled(enabled: boolean): boolean {
  const prev = gradEnabled;
  gradEnabled = enabled;
  return prev;
}

/**
 * Records `out` as produced by an op over `inputs`, when grad mode is on and any input
 * requires grad. `backward` maps d(loss)/d(out) to d(loss)/d(input) per input.
 */
export function record(out: Tensor, name: string, inputs: Array<Tensor | null>,
                       backward: (gradOutput: Tensor) => Array<Tensor | null>): Tensor {
  if (!gradEnabled) return out;
  if (!inputs.some((t) => t !== null && t.requiresGrad)) return out;
  out.requiresGrad = true;
  out.gradFn = { name, inputs, backward };
  return out;
}

/** True when the op's output would be recorded: callers may skip saving work otherwise. */
export function needsGrad(...inputs: Array<Tensor | null | undefined>): boolean {
  return gradEnabled && inputs.some((t) => t != null && t.requiresGrad);
}

/** Backpropagates from `root`; leaf tensors with requiresGrad accumulate into `.grad`. */
export function runBackward(root: Tensor, gradOutput?: Tensor): void {
  if (!root.requiresGrad) {
    throw new Error('backward: tensor does not require grad and has no grad_fn');
  }
  let seed: Tensor;
  if (gradOutput === undefined) {
    if (root.size !== 1) {
      throw new Error(`backward: gradOutput must be given for a non-scalar output of shape [${root.shape.join(', ')}]`);
    }
    seed = new Tensor(new Float32Array([1]), root.shape.slice());
  } else {
    if (gradOutput.size !== root.size) {
      throw new Error(`backward: gradOutput shape [${gradOutput.shape.join(', ')}] does not match output shape [${root.shape.join(', ')}]`);
    }
    seed = sameShape(gradOutput.shape, root.shape) ? gradOutput : new Tensor(gradOutput.data, root.shape.slice());
  }

  // Reverse topological order by iterative DFS (deep nets overflow recursion).
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: Array<[Tensor, number]> = [[root, 0]];
  visited.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.gradFn ? t.gradFn.inputs : [];
    if (i < inputs.length) {
      top[1]++;
      const inp = inputs[i];
      if (inp && inp.requiresGrad && !visited.has(inp)) {
        visited.add(inp);
        stack.push([inp, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }

  // Gradients flowing into each node. A closure may hand back a tensor it does not own
  // (gradOutput itself, a view of it): it is stored as is and copied only when a second
  // contribution has to be added (copy-on-write).
  const grads = new Map<Tensor, Tensor>();
  const owned = new Set<Tensor>();
  grads.set(root, seed);
  noGrad(() => {
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k];
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      if (!t.gradFn) {
        accumulate(t, g);
        continue;
      }
      if (t.retainsGrad) accumulate(t, g);
      const inGrads = t.gradFn.backward(g);
      const inputs = t.gradFn.inputs;
      if (!Array.isArray(inGrads) || inGrads.length !== inputs.length) {
        throw new Error(`backward of ${t.gradFn.name}: returned ${Array.isArray(inGrads) ? inGrads.length : 'no'} gradients for ${inputs.length} inputs`);
      }
      for (let j = 0; j < inputs.length; j++) {
        const inp = inputs[j];
        const ig = inGrads[j];
        if (!inp || !ig || !inp.requiresGrad) continue;
        if (ig.size !== inp.size) {
          throw new Error(`backward of ${t.gradFn.name}: gradient shape [${ig.shape.join(', ')}] does not match input shape [${inp.shape.join(', ')}]`);
        }
        const prev = grads.get(inp);
        if (!prev) {
          grads.set(inp, sameShape(ig.shape, inp.shape) ? ig : new Tensor(ig.data, inp.shape.slice()));
        } else if (owned.has(prev)) {
          addInto(prev, ig);
        } else {
          const sum = new Tensor(prev.data.slice(), inp.shape.slice());
          addInto(sum, ig);
          owned.add(sum);
          grads.set(inp, sum);
        }
      }
    }
  });
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function addInto(acc: Tensor, g: Tensor): void {
  const a = acc.data, b = g.data;
  for (let i = 0; i < a.length; i++) a[i] += b[i];
}

function accumulate(t: Tensor, g: Tensor): void {
  if (t.grad) addInto(t.grad, g);
  else t.grad = new Tensor(g.data.slice(), t.shape.slice());
}
