"""Inputs and scipy/numpy reference answers for test_scipy_reference.cpp.

    scipy_reference.py DIR    writes into DIR the kernels' inputs as numpy writes them
                              (Fortran order, integer and float32 dtypes) and the answers
                              of scipy.spatial.cKDTree, scipy.spatial.distance.cdist and a
                              numpy matched filter, each as a C-order float64/int64 .npy.

Exits 77 with one line on stderr when numpy or scipy is missing.
"""
import sys

try:
    import numpy as np
    from scipy.spatial import cKDTree
    from scipy.spatial.distance import cdist
except ImportError as e:
    sys.stderr.write(f"SKIP: {e.name} is not installed (apt-get install python3-scipy)\n")
    sys.exit(77)

out = sys.argv[1]
rng = np.random.default_rng(15)


def save(name, array):
    np.save(f"{out}/{name}", array)


# knn: integer points in a wide range (distinct distances, so the order of the k
# neighbours is unambiguous), saved as Fortran-order int32 / C-order int64 and as a
# Fortran-order float32 view (whole numbers below 2^24 are exact in float32).
n, m, d, k = 500, 60, 3, 4
x = rng.integers(-1_000_000, 1_000_000, size=(n, d))
q = rng.integers(-1_000_000, 1_000_000, size=(m, d))
save("knn_x_i4_fortran.npy", np.asfortranarray(x.astype(np.int32)))
save("knn_q_i8.npy", q.astype(np.int64))
save("knn_x_f4_fortran.npy", np.asfortranarray(x.astype(np.float32)))
tree = cKDTree(x.astype(np.float64))
for p, metric in ((2, "l2"), (1, "l1")):
    dist, idx = tree.query(q.astype(np.float64), k=k, p=p)
    # Ties would let a correct answer list neighbours in another order: there are none.
    assert np.all(np.diff(dist, axis=1) > 0), "tied distances: pick another seed"
    save(f"knn_{metric}_dist.npy", np.ascontiguousarray(dist, np.float64))
    save(f"knn_{metric}_idx.npy", np.ascontiguousarray(idx, np.int64))
# With a distance bound: missing neighbours are index n and distance inf, as scipy's.
bound = float(np.median(tree.query(q.astype(np.float64), k=k)[0][:, 1]))
dist, idx = tree.query(q.astype(np.float64), k=k, distance_upper_bound=bound)
save("knn_bound.npy", np.array([bound]))
save("knn_bound_dist.npy", np.ascontiguousarray(dist, np.float64))
save("knn_bound_idx.npy", np.ascontiguousarray(idx, np.int64))

# rbf: float32 Fortran-order and int16 points; the matrices from scipy's cdist.
p32 = np.asfortranarray(rng.random((300, 4), dtype=np.float32))
save("rbf_p_f4_fortran.npy", p32)
r = cdist(p32.astype(np.float64), p32.astype(np.float64))
save("rbf_gaussian.npy", np.exp(-((2.0 * r) ** 2)))  # eps = 2
save("rbf_cubic_quadratic.npy", r**3 / 12 + r**2 / 6)
pi16 = rng.integers(-50, 50, size=(200, 2)).astype(np.int16)
save("rbf_p_i2.npy", pi16)
r = cdist(pi16.astype(np.float64), pi16.astype(np.float64))
save("rbf_multiquadric.npy", np.sqrt(1 + (0.5 * r) ** 2))  # eps = 0.5

# chirp: the README's waveform on a small grid, a bank, three signals (a bank template
# shifted in time, a chirp near a bank mass with noise, a chirp heavier than the bank),
# and numpy's normalised match: max over shifts of irfft(conj(s) h) over the two norms.
samples, fmax, fmin, msun = 4097, 1024.0, 40.0, 4.9257e-6
f = np.linspace(0, fmax, samples)
df = f[1] - f[0]


def chirp(mc):
    h = np.zeros(samples, np.complex128)
    above = f > fmin
    fa = f[above]
    h[above] = (np.sqrt(5 / 24) * np.pi ** (-2 / 3) * (mc * msun) ** (5 / 6) * fa ** (-7 / 6)
                * np.exp(-1j * (3 / 128) * (np.pi * mc * msun * fa) ** (-5 / 3)))
    return h


bank = np.arange(1.0, 1.5 + 0.05 / 2, 0.05)
save("chirp_bank.npy", bank)
shift = np.exp(-2j * np.pi * f * 0.125)  # 1/8 s later
signals = np.array([
    3e7 * chirp(bank[4]) * shift,
    chirp(1.2003) + rng.normal(0, 1e-11, samples) + 1j * rng.normal(0, 1e-11, samples),
    chirp(2.5),
])
save("chirp_signals.npy", signals)


def correlation(a, b):  # over every time shift, with irfft's weights for each bin
    return np.fft.irfft(np.conj(a) * b)


match = np.array([[correlation(s, chirp(mc)).max()
                   / np.sqrt(correlation(s, s)[0] * correlation(chirp(mc), chirp(mc))[0])
                   for mc in bank] for s in signals])
save("chirp_match.npy", match)
