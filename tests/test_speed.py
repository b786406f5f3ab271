"""medlab.speed: FLOPs counted per layer on small nets worked out by hand; measured speed."""

import pytest

from medlab import speed
from medlab._tensorflow import keras
from medlab.models import small_cnn
from medlab.models import seed_cnn


def test_flops_of_a_known_net():
    net = keras.Sequential([keras.Input((6, 6, 2)), keras.layers.Conv2D(3, 3, name="c"),
                            keras.layers.MaxPooling2D(2, name="p"), keras.layers.Flatten(name="f"),
                            keras.layers.Dense(5, name="d")])
    rows = speed.layer_costs(net)
    assert [r["name"] for r in rows] == ["c", "p", "f", "d"]
    # Conv2D: 4 x 4 outputs x 3 channels, each 3 x 3 x 2 multiply-adds; Dense: 12 x 5
    assert [r["flops"] for r in rows] == [2 * 3 * 3 * 2 * 3 * 4 * 4, 0, 0, 2 * 12 * 5]
    assert [r["parameters"] for r in rows] == [3 * 3 * 2 * 3 + 3, 0, 0, 12 * 5 + 5]
    assert rows[0]["output"] == (4, 4, 3) and rows[3]["output"] == (5,)
    assert speed.flops(net) == 2 * (3 * 3 * 2 * 3 * 16 + 60)


def test_dense_on_feature_maps_counts_every_position():
    net = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Dense(2)])
    assert speed.flops(net) == 2 * 3 * 2 * 16


def test_seed_cnn_flops_by_formula():
    rows = {r["name"]: r for r in speed.layer_costs(seed_cnn((28, 28, 1)))}
    assert rows["conv1"]["flops"] == 2 * 9 * 1 * 32 * 26 * 26
    assert rows["conv2"]["flops"] == 2 * 9 * 32 * 64 * 11 * 11
    assert rows["dense1"]["flops"] == 2 * 5 * 5 * 64 * 64
    assert sum(r["parameters"] for r in rows.values()) == seed_cnn((28, 28, 1)).count_params()


def test_small_cnn_is_cheaper_than_seed_cnn_at_every_size():
    for size in (28, 64):
        assert speed.flops(small_cnn((size, size, 1))) < speed.flops(seed_cnn((size, size, 1)))


def test_training_speed_is_positive_and_checks_arguments():
    assert speed.training_speed(small_cnn((8, 8, 1), width=2), batch_size=4, steps=1, warmup=1) > 0
    with pytest.raises(ValueError, match="steps"):
        speed.training_speed(small_cnn((8, 8, 1)), steps=0)


def test_gpus_is_a_list_of_names():
    found = speed.gpus()
    assert isinstance(found, list) and all(isinstance(name, str) for name in found)
