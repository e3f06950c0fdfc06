"""Builders of the prospective rate networks: Brian2 groups and synapses from a resolved
`locallearn.models.rate.RateModel` (see that module for the scheme, and
``docs/latent-equilibrium.md`` for the equations). Units: weights, biases and rates
dimensionless, time constants in seconds, learning rates in Hz."""

import dataclasses

import numpy as np
from brian2 import Hz, second

from locallearn import definitions
from locallearn.errors import ConfigError
from locallearn.models.rate_rules import PHI, forward_model, optimizer_eqs

__all__ = ["INPUT_EQS", "Replica", "RateGroup", "block_pairs", "split_blocks",
           "initial_weights", "angle_deg", "build_input", "build_layers", "connect_target",
           "layer_eqs", "commit_code"]

#: Input layer: its rate is set each step by the protocol's input code (an expression of t).
INPUT_EQS = """
r_s : 1                                         # input rate x(t)
"""



def layer_eqs(m, output):
    """Neuron equations of a hidden (``output=False``) or output layer of a resolved model."""
    text = m.layer_eqs + (m.output_error_eqs if output else m.hidden_error_eqs)
    text += optimizer_eqs(m.optimizer, "b", m.bias_grad, suffix="", decay=False, synapse=False,
                          rate="eta_b")
    text += optimizer_eqs(m.optimizer, "tau_m", m.tau_grad, var_unit="second", grad_unit="Hz",
                          suffix="", decay=False, synapse=False, rate="eta_tau",
                          rate_factor="*second")
    return text


def commit_code(m, phi, target=""):
    """The commit statements of a layer with transfer function ``phi`` (a name of `PHI`)."""
    f, df = PHI[phi]
    fb = definitions.get("feedback", m.feedback).commit
    return m.commit_code.format(error=m.error, phi=f, dphi=df, target=target,
                                schedule=m.schedule_code, feedback=fb)



@dataclasses.dataclass
class Replica:
    """One network of a replica group: its initial parameters (per layer 1..N).

    W[l]: (n_l, n_{l-1}); B[l]: (n_{l-1}, n_l) or None (l = 0 has none); b[l]: (n_l,);
    tau_m[l], tau_r[l]: (n_l,) seconds (floats); eta[l], eta_b[l]: Hz (floats), learning rates
    of layer l's incoming weights and of its bias; eta_tau[l]: dimensionless; kappa (Hz) and
    fb_plastic and fb_local (1: B learns by the feedback kind's own rule, PAL) apply to all
    layers; ``selector``: index of the replica's operator in a
    `union_model` group.
    """

    name: str
    W: list
    b: list
    tau_m: list
    tau_r: list
    eta: list
    eta_tau: list
    eta_b: list = None
    B: list = None
    kappa: float = 0.0
    fb_plastic: float = 1.0
    selector: int = 0
    fb_local: float = 0.0


@dataclasses.dataclass
class RateGroup:
    """Brian2 objects of one replica group (one model, R networks)."""

    name: str
    sizes: tuple
    replicas: list
    layers: list
    forward: list
    backward: list
    objects: list
    target: object = None


def block_pairs(n_pre, n_post, R, shared_pre=False):
    """(pre, post) index arrays of all-to-all connections inside each of R blocks, ordered by
    block, then presynaptic, then postsynaptic index (``shared_pre``: one presynaptic group of
    ``n_pre`` neurons feeds every block)."""
    pre, post = np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij")
    pre, post = pre.ravel(), post.ravel()
    offs = np.arange(R)[:, None]
    pre_all = np.tile(pre, R) if shared_pre else (pre[None, :] + offs * n_pre).ravel()
    return pre_all, (post[None, :] + offs * n_post).ravel()


def _values(mats, transpose=False):
    """Synapse values in `block_pairs` order from a list of R matrices M[post, pre]."""
    return np.concatenate([(np.asarray(M, float) if transpose else np.asarray(M, float).T).ravel()
                           for M in mats])


def split_blocks(values, n_pre, n_post, R):
    """Inverse of the value order: array (R, n_post, n_pre, ...) from synapse values
    (last axis may be time)."""
    v = np.asarray(values, float)
    shaped = v.reshape((R, n_pre, n_post) + v.shape[1:])
    return np.swapaxes(shaped, 1, 2)


def initial_weights(sizes, rng, scale=1.0):
    """PyTorch ``nn.Linear`` default initialisation (§4): W_l, b_l ~ U(+-scale/sqrt(n_{l-1}))."""
    W, b = [None], [None]
    for l in range(1, len(sizes)):
        k = scale / np.sqrt(sizes[l - 1])
        W.append(rng.uniform(-k, k, (sizes[l], sizes[l - 1])))
        b.append(rng.uniform(-k, k, sizes[l]))
    return W, b


def angle_deg(B, W):
    """Angle (degrees) between B (n_{l-1} x n_l, or a stack over a leading axis) and W^T."""
    B = np.asarray(B, float)
    Wt = np.swapaxes(np.asarray(W, float), -1, -2)
    a = B.reshape(B.shape[:-2] + (-1,))
    c = Wt.reshape(Wt.shape[:-2] + (-1,))
    cos = np.sum(a * c, -1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(c, axis=-1) + 1e-300)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def build_input(n, input_eqs, input_code, dt, namespace, values=None, name="input"):
    """Input layer of ``n`` units whose rate ``r_s`` is set every step by ``input_code``
    (statements, expressions of t; design.md: inputs as equations of t or via run_regularly).
    ``values`` sets per-unit constants declared in ``input_eqs`` (name -> array)."""
    from brian2 import NeuronGroup

    g = NeuronGroup(n, INPUT_EQS + input_eqs, method="euler", namespace=namespace, name=name,
                    dt=dt)
    for k, v in (values or {}).items():
        setattr(g, k, v)
    g.run_regularly(input_code, dt=dt)
    return g


def _per_neuron(replicas, field, l, unit=None):
    vals = np.concatenate([np.broadcast_to(np.asarray(getattr(rep, field)[l], float),
                                           (len(np.atleast_1d(rep.tau_m[l])),))
                           for rep in replicas])
    return vals * unit if unit is not None else vals


def build_layers(name, model, sizes, phis, replicas, input_group, dt, learn_start, learn_end,
                 target_code="", plastic=True, accumulate=False, namespace=None):
    """Create the layers 1..N of a replica group (inside a device session).

    Parameters
    ----------
    name : str
        Prefix of every Brian2 object name.
    model : RateModel (resolved)
    sizes : list of int
        Layer sizes n_0 (input) .. n_N.
    phis : list of str
        Transfer function of layers 1..N (names of `PHI`).
    replicas : list of `Replica`
        R networks sharing these equations; replica k occupies neurons k n_l .. (k+1) n_l - 1.
    input_group : NeuronGroup
        The shared input layer (``r_s`` of size n_0).
    dt : Quantity (second)
    learn_start, learn_end : Quantity (second)
        Plasticity is on in [learn_start, learn_end) (absolute time).
    target_code : str
        Output-layer statements that set ``y_tgt`` and ``mask`` (run after the rate commit);
        leave ``y_tgt`` alone when a teacher provides it (`connect_target`).
    plastic : bool
        False: fixed weights, no backward pathway (teachers).
    accumulate : bool
        Integrate each forward synapse's gradient estimate into ``gacc``.
    namespace : dict, optional
        Extra constants the (protocol-specific) strings read, e.g. a target's period.
    """
    from brian2 import NeuronGroup, Synapses

    m = model
    R = len(replicas)
    N = len(sizes) - 1
    ns = m.namespace()
    ns.update(namespace or {})
    layers, fwd, bwd, objs = [], [], [], []
    lo, hi = float(m.tau_min / second), float(m.tau_max / second)
    for l in range(1, N + 1):
        for rep in replicas:
            tm = np.asarray(rep.tau_m[l], float)
            if np.any(tm < lo) or np.any(tm > hi):
                raise ConfigError("tau_min", f"every tau_m must lie in [tau_min, tau_max] = "
                                  f"[{lo:g}, {hi:g}] s; {name} layer {l} has {tm.min():g} to "
                                  f"{tm.max():g} s")
    for l in range(1, N + 1):
        out = l == N
        g = NeuronGroup(R * sizes[l], layer_eqs(m, out), method="euler", namespace=ns,
                        name=f"{name}_layer{l}", dt=dt)
        g.tau_m = _per_neuron(replicas, "tau_m", l, second)
        g.tau_s = g.tau_m[:]
        g.tau_r = _per_neuron(replicas, "tau_r", l, second)
        g.b = np.concatenate([np.asarray(rep.b[l], float) for rep in replicas])
        g.gamma = m.gamma
        g.eta = _per_neuron(replicas, "eta", l, Hz) if plastic else 0 * Hz
        g.eta_tau = _per_neuron(replicas, "eta_tau", l) if plastic else 0.0
        g.eta_b = (_per_neuron(replicas, "eta_b", l, Hz) if plastic and replicas[0].eta_b
                   is not None else 0 * Hz)
        g.kappa = np.repeat([rep.kappa for rep in replicas], sizes[l]) * Hz
        g.fb_plastic = np.repeat([rep.fb_plastic for rep in replicas], sizes[l])
        if "fb_local" in g.variables:  # a feedback kind with its own rule (PAL)
            g.fb_local = np.repeat([rep.fb_local for rep in replicas], sizes[l])
            g.fb_noise = 0.0 if out else g.fb_local[:]
        for key, value in m.schedule_values(learn_start, learn_end).items():
            setattr(g, key, value)
        k = 0
        while f"sel_{k}" in g.variables:
            setattr(g, f"sel_{k}", np.repeat([float(rep.selector == k) for rep in replicas],
                                             sizes[l]))
            k += 1
        if out:
            g.beta = m.beta
        g.run_regularly(commit_code(m, phis[l - 1], target_code if out else ""), dt=dt)
        layers.append(g)
        objs.append(g)
    for l in range(1, N + 1):
        pre_group = input_group if l == 1 else layers[l - 2]
        pre, post = block_pairs(sizes[l - 1], sizes[l], R, shared_pre=(l == 1))
        model_text = m.forward_model if plastic else forward_model(m, plastic=False)
        if plastic and accumulate:
            model_text = (f"dgacc/dt = {m.weight_grad} : second (clock-driven)  # integral of the "
                          f"estimate\n" + model_text)
        s = Synapses(pre_group, layers[l - 1], model_text, method="euler", namespace=ns,
                     name=f"{name}_forward{l}", dt=dt)
        s.connect(i=pre, j=post)
        s.w = _values([rep.W[l] for rep in replicas])
        if "q" in s.variables:
            s.q = 0.0
        fwd.append(s)
        objs.append(s)
        if plastic and l >= 2:
            bpost, bpre = block_pairs(sizes[l - 1], sizes[l], R)
            sb = Synapses(layers[l - 1], layers[l - 2], m.backward_model, method="euler",
                          namespace=ns, name=f"{name}_backward{l}", dt=dt)
            sb.connect(i=bpre, j=bpost)  # same (block, lower, upper) order as the forward pairs
            sb.bw = np.concatenate([np.asarray(rep.B[l], float).ravel() for rep in replicas])
            bwd.append(sb)
            objs.append(sb)
        else:
            bwd.append(None)
    return RateGroup(name=name, sizes=tuple(sizes), replicas=list(replicas), layers=layers,
                     forward=fwd, backward=bwd, objects=objs)


def connect_target(teacher, group, dt):
    """Summed target ``y_tgt = r_teacher`` from a teacher's output layer into every replica's
    output layer (one synapse per output unit and replica)."""
    from brian2 import Synapses

    n = group.sizes[-1]
    R = len(group.replicas)
    pre = np.tile(np.arange(n), R)
    post = np.arange(n * R)
    s = Synapses(teacher.layers[-1], group.layers[-1],
                 "y_tgt_post = r_s_pre : 1 (summed)  # teacher output is the target",
                 name=f"{group.name}_target", dt=dt)
    s.connect(i=pre, j=post)
    group.target = s
    group.objects.append(s)
    return s

