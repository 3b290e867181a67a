"""The MNIST loader on the real shipped files, and its errors on broken ones."""

import os
import shutil

import pytest
import torch

from explorer.core.data import FILES, DataError, load_mnist, load_split, raw_dir

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_shapes_dtypes_and_range(mnist):
    assert mnist.train_images.shape == (60000, 1, 28, 28)
    assert mnist.test_images.shape == (10000, 1, 28, 28)
    assert mnist.train_images.dtype == torch.float32
    assert mnist.train_labels.dtype == torch.int64
    assert mnist.train_images.min() == 0.0 and mnist.train_images.max() == 1.0
    assert mnist.test_images.min() == 0.0 and mnist.test_images.max() == 1.0


def test_known_mnist_facts(mnist):
    assert torch.bincount(mnist.train_labels).tolist() == TRAIN_COUNTS
    assert torch.bincount(mnist.test_labels).tolist() == TEST_COUNTS
    assert mnist.train_images.mean().item() == pytest.approx(0.1307, abs=5e-5)
    assert mnist.train_images.std().item() == pytest.approx(0.3081, abs=5e-5)


def test_checksums_recorded(mnist):
    assert set(mnist.checksums) == {f"{name}.gz" for name in FILES}
    assert mnist.dataset_info()["name"] == "MNIST"


@pytest.fixture
def data_copy(tmp_path):
    """A writable copy of the shipped .gz files and SHA256SUMS (no uncompressed files)."""
    target = raw_dir(tmp_path)
    target.mkdir(parents=True)
    for path in raw_dir().iterdir():
        if path.suffix == ".gz" or path.name == "SHA256SUMS":
            shutil.copy(path, target)
    return tmp_path


def test_decompresses_on_first_use(data_copy):
    splits = load_mnist(data_copy)
    assert all((raw_dir(data_copy) / name).is_file() for name in FILES)
    assert splits.test_images.shape == (10000, 1, 28, 28)


def test_missing_file_is_a_clear_error(data_copy):
    (raw_dir(data_copy) / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="missing.*t10k-labels-idx1-ubyte.gz.*git checkout"):
        load_mnist(data_copy)


def test_errors_name_no_folder_outside_the_repository(data_copy):
    (raw_dir(data_copy) / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError) as error:
        load_mnist(data_copy)
    message = str(error.value)
    assert str(data_copy) not in message and "shared/" not in message
    assert "git checkout -- data/MNIST/raw" in message


def test_corrupt_file_is_a_clear_error(data_copy):
    path = raw_dir(data_copy) / "train-images-idx3-ubyte.gz"
    data = bytearray(path.read_bytes())
    data[5000] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="corrupt.*train-images-idx3-ubyte.gz"):
        load_mnist(data_copy)


def test_missing_checksums_is_a_clear_error(data_copy):
    (raw_dir(data_copy) / "SHA256SUMS").unlink()
    with pytest.raises(DataError, match="checksum file missing"):
        load_mnist(data_copy)


def test_corrupt_uncompressed_file_is_a_clear_error(data_copy):
    load_mnist(data_copy)
    (raw_dir(data_copy) / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" + b"\x00" * 10)
    with pytest.raises(DataError, match=r"corrupt: .*t10k-images-idx3-ubyte does not match .*Delete"):
        load_mnist(data_copy)


def _no_temporaries(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] == []


def test_training_images_copied_over_the_test_images_are_refused(data_copy):
    load_mnist(data_copy)
    raw = raw_dir(data_copy)
    shutil.copy(raw / "train-images-idx3-ubyte", raw / "t10k-images-idx3-ubyte")
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte does not match t10k-images-idx3-ubyte.gz"):
        load_split(train=False, root=data_copy)
    assert _no_temporaries(raw)


def test_an_edit_that_keeps_the_size_is_refused_and_a_touch_is_not(data_copy):
    load_mnist(data_copy)
    path = raw_dir(data_copy) / "t10k-labels-idx1-ubyte"
    original = path.read_bytes()
    os.utime(path, ns=(1, 1))  # only the time changed: hashed once, accepted, remembered
    assert load_split(train=False, root=data_copy)[1].tolist() == torch.tensor(list(original[8:])).tolist()
    edited = bytearray(original)
    edited[100] = (edited[100] + 1) % 10  # a different label, same size
    path.write_bytes(bytes(edited))
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte does not match"):
        load_split(train=False, root=data_copy)


@pytest.mark.parametrize("line", [
    "1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be  t10k-images-idx3-ubyte.gz extra",
    "1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be",
    "not-a-digest  t10k-images-idx3-ubyte.gz",
])
def test_a_malformed_checksum_line_names_the_file(data_copy, line):
    path = raw_dir(data_copy) / "SHA256SUMS"
    path.write_text(path.read_text() + line + "\n")
    with pytest.raises(DataError, match=r"checksum file corrupt: .*SHA256SUMS, line 5 .*git checkout"):
        load_mnist(data_copy)


def test_temporaries_of_a_killed_unpack_are_removed(data_copy):
    raw = raw_dir(data_copy)
    stale = raw / ".t10k-images-idx3-ubyte.999999999.abcd1234.tmp"  # no such pid
    stale.write_bytes(b"\0" * 1000)
    load_split(train=False, root=data_copy)
    assert not stale.exists() and _no_temporaries(raw)


def _idx_gz(path, count: int, images: bool) -> None:
    """Write a gzip-compressed IDX file of ``count`` blank images (28x28) or zero labels."""
    import gzip
    import struct

    header = struct.pack(">IIII", 0x803, count, 28, 28) if images else struct.pack(">II", 0x801, count)
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(header + bytes(count * (784 if images else 1)))


def _forge_test_split(root, num_images: int, num_labels: int) -> None:
    """Replace the copy's test files and edit SHA256SUMS to match, as a forger would."""
    import hashlib

    folder = raw_dir(root)
    _idx_gz(folder / "t10k-images-idx3-ubyte.gz", num_images, images=True)
    _idx_gz(folder / "t10k-labels-idx1-ubyte.gz", num_labels, images=False)
    (folder / "SHA256SUMS").write_text("".join(
        f"{hashlib.sha256((folder / f'{name}.gz').read_bytes()).hexdigest()}  {name}.gz\n" for name in FILES))


@pytest.mark.parametrize("num_images, num_labels, message", [
    (10_000, 10, "MNIST test split in data/MNIST/raw/ has 10,000 images but 10 labels"),
    (100, 100, "MNIST test split in data/MNIST/raw/ has 100 images and labels, not MNIST's 10,000"),
])
def test_a_split_whose_counts_disagree_or_are_not_mnists_is_refused(data_copy, num_images, num_labels, message):
    _forge_test_split(data_copy, num_images, num_labels)
    with pytest.raises(DataError, match=message) as caught:
        load_split(train=False, root=data_copy)
    assert "git checkout -- data/MNIST/raw" in str(caught.value) and len(str(caught.value)) < 300


def test_the_training_split_must_have_60000_images_and_labels():
    from explorer.core.data import check_split_sizes

    check_split_sizes(True, 60_000, 60_000)
    with pytest.raises(DataError, match="training split .* has 60,000 images but 10,000 labels"):
        check_split_sizes(True, 60_000, 10_000)
    with pytest.raises(DataError, match="10,000 images and labels, not MNIST's 60,000"):
        check_split_sizes(True, 10_000, 10_000)


def test_the_probe_digits_are_the_first_ten_test_digits_of_each_label(mnist):
    """The shipped probe file holds real test digits, rebuilt here from the verified split."""
    from explorer.core.data import probe_digits, select_probe_rows

    images, labels = probe_digits()
    rows = select_probe_rows(mnist.test_labels)
    assert labels.tolist() == [k for k in range(10) for _ in range(10)]
    assert torch.equal(images, mnist.test_images[rows]) and torch.equal(labels, mnist.test_labels[rows])
