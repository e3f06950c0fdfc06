"""A bare Brian2 script of the quick autoencoder, for the package-overhead comparison (issue 14).

The same network as ``python -m locallearn run autoencoder --quick`` (N = 20, J = 2,
lambda = 50 Hz, dt = 0.1 ms, 0.5 s before + 15 s learning + 2 s test + 10 x 0.2 s repeated
trials; OU command tau_c = 30 ms scaled to x_std = 3; winner-take-all threshold; the 2015 fast
rule with eta_f = 0.01, beta = 1/2; spike and weight-snapshot monitors), written directly with
Brian2 and built with cpp_standalone into ``BUILD_DIR`` (argument 1, default
``/tmp/locallearn-bare-build``). It does no analysis and saves nothing: the package's extra cost
(validation, recordings of V/drive_ff/r, analysis, saving the run directory) is what a
side-by-side timing of the two processes measures. Not a test; run by hand::

    python bench/bare_autoencoder.py [BUILD_DIR]
"""

import sys

import numpy as np
from brian2 import (Hz, NeuronGroup, Network, SpikeMonitor, StateMonitor, Synapses, defaultclock,
                    ms, second, seed, set_device)

build = sys.argv[1] if len(sys.argv) > 1 else "/tmp/locallearn-bare-build"
set_device("cpp_standalone", directory=build, build_on_run=True)
seed(1)
defaultclock.dt = 0.1 * ms
N, J, lam, tau_c = 20, 2, 50 * Hz, 30 * ms
learn_start, learn_end, hold_start = 0.5 * second, 15.5 * second, 17.5 * second
duration = 19.5 * second
sigma_c = 3.0 * np.sqrt(50.0 * (50.0 + 1 / 0.03)) * Hz  # x_std sqrt(lam (lam + 1/tau_c))

target = NeuronGroup(J, """
dx/dt = -lam*x + c : 1
dc/dt = (1 - hold)*(-c/tau_c + sigma_c*sqrt(2/tau_c)*xi) : hertz
hold : 1
""", method="euler")
target.run_regularly("hold = int(t >= hold_start)")
neurons = NeuronGroup(N, """
dV/dt = -lam*V + I_ff + sigma_V*sqrt(2*lam)*xi : 1
dr/dt = -lam*r : 1
I_ff : hertz
n_above : 1
plastic : 1
T : 1 (constant)
rank : 1 (constant)
""", threshold="V > T and n_above < 0.5", reset="r += 1", method="euler",
                      namespace=dict(sigma_V=0.01))
neurons.run_regularly("plastic = int(t >= learn_start)*int(t < learn_end)")
ang = 2 * np.pi * np.arange(N) / N
F = np.stack([np.cos(ang), np.sin(ang)], axis=1)
neurons.T = np.sum(F ** 2, axis=1) / 2
neurons.rank = np.arange(N)
ff = Synapses(target, neurons, "F : 1 (constant)\nI_ff_post = F*c_pre : hertz (summed)")
ff.connect()
ff.F = F.T.ravel()
fast = Synapses(neurons, neurons, "w : 1", on_pre=(
    "w = w - eta_f*plastic_post*(V_post + beta*w)\nV_post += w"),
    namespace=dict(eta_f=0.01, beta=0.5))
pre, post = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")
fast.connect(i=pre.ravel(), j=post.ravel())
rng = np.random.default_rng(1)
W0 = -0.2 * rng.uniform(0, 1, (N, N)) - 0.5 * np.eye(N)
fast.w = W0.T.ravel()
wta = Synapses(neurons, neurons, "n_above_post = int(V_pre - T_pre > V_post - T_post)"
               " + int(V_pre - T_pre == V_post - T_post)*int(rank_pre < rank_post) : 1 (summed)")
wta.connect(condition="i != j")
net = Network(target, neurons, ff, fast, wta, SpikeMonitor(neurons),
              StateMonitor(target, ["x", "c"], record=True),
              StateMonitor(fast, "w", record=np.arange(N * N), dt=0.1 * second))
net.run(duration, namespace=dict(lam=lam, tau_c=tau_c, sigma_c=sigma_c, learn_start=learn_start,
                                 learn_end=learn_end, hold_start=hold_start))
