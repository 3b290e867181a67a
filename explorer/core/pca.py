"""Principal component analysis and principal angles between subspaces.

A linear autoencoder trained with squared error learns the subspace spanned by the top
principal components, not the components themselves (Baldi & Hornik 1989, "Neural
networks and principal component analysis"): its decoder's columns span the same plane
in some rotated, scaled basis. :func:`principal_angles` measures how close two such
subspaces are, whatever their bases (Bjorck & Golub 1973).
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class PCA(NamedTuple):
    """The top-k principal components of a data set.

    Attributes:
        mean: (D,) the data mean that was subtracted.
        components: (D, k) orthonormal columns, the principal directions, by decreasing variance.
        variances: (k,) the variance along each direction (eigenvalues of the covariance,
            divisor N - 1), in squared data units.
        total_variance: the sum of all D variances (trace of the covariance).
    """

    mean: torch.Tensor
    components: torch.Tensor
    variances: torch.Tensor
    total_variance: float

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """Coordinates of x along the components: (N, ...) -> (N, k)."""
        return (x.flatten(1).to(self.mean.dtype) - self.mean) @ self.components

    def reconstruct(self, codes: torch.Tensor) -> torch.Tensor:
        """Back to data space from :meth:`transform`'s codes: (N, k) -> (N, D), the
        orthogonal projection onto the mean plus the components' span."""
        return codes @ self.components.T + self.mean


def pca(x: torch.Tensor, k: int) -> PCA:
    """Top-k principal components by ``torch.linalg.svd`` of the centred data X (of X^T X
    when there are more than 4 times as many rows as columns: same right singular vectors).

    Args:
        x: (N, ...) data, each row flattened to D values (images (N, C, H, W) give D = C*H*W).
        k: number of components, 1 <= k <= min(N, D).

    Returns:
        :class:`PCA` in float64. Each component's sign is fixed so that its largest
        entry in absolute value is positive (SVD signs are arbitrary).

    Raises:
        ValueError: k out of range, or fewer than 2 rows.
    """
    data = x.flatten(1).double()
    n, d = data.shape
    if n < 2:
        raise ValueError(f"PCA needs at least 2 rows, got {n}")
    if not 1 <= k <= min(n, d):
        raise ValueError(f"k must be in [1, {min(n, d)}], got {k}")
    mean = data.mean(dim=0)
    centred = data - mean
    if n > 4 * d:  # many more rows than columns: the SVD of the D x D scatter matrix X^T X is
        # far cheaper (60,000 MNIST images: about 1 s instead of over a minute) and, in
        # float64, exact enough: its singular values are the data's squared.
        _, s2, vh = torch.linalg.svd(centred.T @ centred)
        s = s2.clamp(min=0).sqrt()
    else:
        _, s, vh = torch.linalg.svd(centred, full_matrices=False)
    components = vh[:k].T.clone()
    flip = torch.sign(components.gather(0, components.abs().argmax(dim=0, keepdim=True)))
    components *= flip
    variances = s.pow(2) / (n - 1)
    return PCA(mean, components, variances[:k], float(variances.sum()))


def principal_angles(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Principal angles between the column spaces of ``a`` and ``b``, in degrees, ascending.

    With orthonormal bases Q_A, Q_B (QR), the cosines of the angles are the singular values
    of Q_A^T Q_B (Bjorck & Golub 1973). 0 degrees: a shared direction; 90: orthogonal.
    Angles under about 1e-3 degrees are not resolved by the cosine (the arccos of a value
    near 1 is ill-conditioned).

    Args:
        a: (D, p) with p <= D columns of full rank.
        b: (D, q) with q <= D.

    Returns:
        (min(p, q),) float64 degrees.

    Raises:
        ValueError: different row counts, or a matrix with more columns than rows.
    """
    if a.dim() != 2 or b.dim() != 2 or a.shape[0] != b.shape[0]:
        raise ValueError(f"need two matrices with the same number of rows, got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.shape[1] > a.shape[0] or b.shape[1] > b.shape[0]:
        raise ValueError("each matrix needs at most as many columns as rows")
    qa, _ = torch.linalg.qr(a.double())
    qb, _ = torch.linalg.qr(b.double())
    cosines = torch.linalg.svdvals(qa.T @ qb).clamp(-1.0, 1.0)
    return torch.rad2deg(torch.arccos(cosines))  # singular values descend: angles ascend


def subspace_reconstruction_error(x: torch.Tensor, p: PCA) -> torch.Tensor:
    """Squared error per image of the rank-k PCA reconstruction: sum over pixels of
    (x - reconstruct(transform(x)))^2, shape (N,), in squared pixel units."""
    data = x.flatten(1).double()
    return (data - p.reconstruct(p.transform(x))).pow(2).sum(dim=1)


def linear_decoder_columns(model) -> torch.Tensor:
    """The columns W (D, latent_dim) of a linear decoder x_mean = W z + b: the directions
    its reconstructions span (a linear autoencoder's counterpart of the principal components).

    Args:
        model: an MLP model with ``hidden_sizes=()`` (one linear layer each way).

    Raises:
        ValueError: the decoder is not a single linear layer.
    """
    config = model.config
    if config.architecture != "mlp" or config.hidden_sizes:
        raise ValueError("a linear decoder needs the MLP networks with no hidden layer (--hidden with no widths), "
                         f"this model has architecture {config.architecture!r}, hidden sizes {list(config.hidden_sizes)}")
    return model.decoder[0][0].weight.detach().double()


class LinearFit(NamedTuple):
    """The least-squares affine map of one set of codes onto another (:func:`fit_linear_map`).

    Attributes:
        matrix: (k, k) A in ``mapped = source @ A + offset``.
        offset: (k,) b.
        mapped: (N, k) the source codes after the map, in the target's units.
        residual_rms: sqrt(mean over rows of ||mapped - target||^2), in the target's units.
        spread_rms: sqrt(mean over rows of ||target - mean(target)||^2), the target's own
            spread in the same units (what the residual is relative to).
        relative_residual: residual_rms / spread_rms (0: the maps coincide; 1: no better
            than drawing every point at the target's mean).
    """

    matrix: torch.Tensor
    offset: torch.Tensor
    mapped: torch.Tensor
    residual_rms: float
    spread_rms: float
    relative_residual: float


def fit_linear_map(source: torch.Tensor, target: torch.Tensor) -> LinearFit:
    """The affine map (A, b) minimising sum_i ||source_i A + b - target_i||^2 (ordinary least
    squares, ``torch.linalg.lstsq`` on [source, 1] in float64).

    A general linear map, not an orthogonal Procrustes rotation plus scale: a linear
    autoencoder's codes are its plane's coordinates in any invertible basis (Baldi & Hornik
    1989), which may be sheared and scaled differently per axis, so only a general A can
    undo it. If source spans the same plane as target's coordinates, the residual is zero.

    Args:
        source: (N, k) codes to map, e.g. a linear autoencoder's z.
        target: (N, m) codes to map onto, e.g. the PCA coordinates; N > k.

    Returns:
        :class:`LinearFit` in float64.

    Raises:
        ValueError: not two matrices with the same number of rows, or too few rows (N <= k).
    """
    if source.dim() != 2 or target.dim() != 2 or source.shape[0] != target.shape[0]:
        raise ValueError(f"need two (N, k) matrices with the same N, got {tuple(source.shape)} and {tuple(target.shape)}")
    n, k = source.shape
    if n <= k:
        raise ValueError(f"need more rows than columns to fit a map, got {n} rows of {k}")
    x = torch.cat([source.double(), torch.ones(n, 1, dtype=torch.float64)], dim=1)
    y = target.double()
    solution = torch.linalg.lstsq(x, y, driver="gelsd").solution  # (k + 1, m)
    mapped = x @ solution
    residual = float((mapped - y).pow(2).sum(dim=1).mean().sqrt())
    spread = float((y - y.mean(dim=0)).pow(2).sum(dim=1).mean().sqrt())
    return LinearFit(solution[:k], solution[k], mapped, residual, spread,
                     residual / spread if spread > 0 else float("inf") if residual > 0 else 0.0)


class LinearAEvsPCA(NamedTuple):
    """A linear autoencoder beside PCA with as many components as its latent size, on one data set.

    Attributes:
        codes: (N, k) the autoencoder's codes z of the images.
        pca_codes: (N, k) the images' coordinates along the top-k principal components.
        angles: (k,) principal angles in degrees between the decoder's column space and
            the top-k principal subspace, ascending.
        ae_squared_error: (N,) sum over pixels of (x - decoder mean)^2 per image (pixels in [0, 1]).
        pca_squared_error: (N,) the same for the rank-k PCA reconstruction (the least
            possible for any rank-k affine map, Eckart & Young 1936).
        pca: the fitted :class:`PCA`.
        fit: :func:`fit_linear_map` of ``codes`` onto ``pca_codes``.
        reconstruction_gap: (N,) root mean square over pixels of (autoencoder's reconstruction
            - PCA's reconstruction) per image, in pixel units ([0, 1] scale).
    """

    codes: torch.Tensor
    pca_codes: torch.Tensor
    angles: torch.Tensor
    ae_squared_error: torch.Tensor
    pca_squared_error: torch.Tensor
    pca: PCA
    fit: LinearFit
    reconstruction_gap: torch.Tensor


@torch.inference_mode()
def compare_with_pca(model, images: torch.Tensor) -> LinearAEvsPCA:
    """Fit PCA (k = the model's latent size) to ``images`` and set a linear autoencoder beside it.

    The autoencoder's reconstruction is its decoder mean at its code, unclipped (the
    identity-link Gaussian's mean may leave [0, 1]; squared error is measured on it).

    Args:
        model: a linear autoencoder (see :func:`linear_decoder_columns`).
        images: (N, C, H, W) pixels in [0, 1].

    Raises:
        ValueError: the decoder is not linear.
    """
    columns = linear_decoder_columns(model)
    k = model.config.latent_dim
    fitted = pca(images, k)
    was_training = model.training
    model.eval()
    try:
        codes, _ = model.encode(images)
        reconstruction = model.decode_mean(codes)
    finally:
        model.train(was_training)
    ae_error = (images.double() - reconstruction.double()).pow(2).flatten(1).sum(dim=1)
    pca_codes = fitted.transform(images)
    gap = (reconstruction.flatten(1).double() - fitted.reconstruct(pca_codes)).pow(2).mean(dim=1).sqrt()
    return LinearAEvsPCA(codes, pca_codes, principal_angles(columns, fitted.components),
                         ae_error, subspace_reconstruction_error(images, fitted), fitted,
                         fit_linear_map(codes, pca_codes), gap)


__all__ = ["PCA", "LinearAEvsPCA", "LinearFit", "compare_with_pca", "fit_linear_map", "linear_decoder_columns", "pca",
           "principal_angles", "subspace_reconstruction_error"]
