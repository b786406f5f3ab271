"""medlab.summary: W's tensors, parameter counts and FLOPs, output shapes from the formula, speed."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from medlab import keras
from medlab.models import seed_cnn
from medlab.experiments import small_cnn
from medlab.models import unet
from medlab.summary import (
    flops,
    _format_layer_table,
    gpus,
    keras_output_shapes,
    layer_table,
    output_shapes_by_formula,
    parameter_count,
    print_layer_table,
    training_speed,
)

# The seed network at the article's 150 x 150 x 3: 150 -> 148 -> 74 -> 72 -> 36
CONV1 = 3 * 3 * 3 * 32 + 32  # 896
CONV2 = 3 * 3 * 32 * 64 + 64  # 18,496
FLAT = 36 * 36 * 64  # 82,944
DENSE1 = FLAT * 64 + 64  # 5,308,480
OUTPUT = 64 * 1 + 1  # 65


@pytest.fixture(scope="module")
def article_model():
    return seed_cnn((150, 150, 3))


# ------------------------------------------------------------ parameter_count
def test_parameter_count_multiplies_axes_and_sums_tensors():
    assert parameter_count([(3, 3, 3, 32), (32,)]) == 896
    assert parameter_count([]) == 0
    assert parameter_count([()]) == 1  # a scalar
    assert parameter_count([(0, 5)]) == 0
    assert parameter_count([(np.int64(4), 2)]) == 8


@pytest.mark.parametrize("shapes", [[(3, -1)], [(2.0, 3)], [(True, 3)], [("3",)]])
def test_parameter_count_rejects_bad_shapes(shapes):
    with pytest.raises(ValueError, match="weight shapes must hold ints"):
        parameter_count(shapes)


# ------------------------------------------------------------ layer_table
def test_layer_table_of_the_seed_cnn(article_model):
    rows = layer_table(article_model)
    assert [row["name"] for row in rows] == [
        "conv1", "pool1", "conv2", "pool2", "flatten", "dense1", "output",
    ]
    assert [row["kind"] for row in rows] == [
        "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense",
    ]
    assert [row["parameters"] for row in rows] == [CONV1, 0, CONV2, 0, 0, DENSE1, OUTPUT]
    assert (CONV1, CONV2, DENSE1) == (896, 18_496, 5_308_480)
    assert [row["weight_shapes"] for row in rows] == [
        [(3, 3, 3, 32), (32,)], [], [(3, 3, 32, 64), (64,)], [], [],
        [(82_944, 64), (64,)], [(64, 1), (1,)],
    ]
    assert rows[0]["weight_names"] == ["kernel", "bias"]
    assert [row["output_shape"] for row in rows] == [
        (None, 148, 148, 32), (None, 74, 74, 32), (None, 72, 72, 64), (None, 36, 36, 64),
        (None, 82_944), (None, 64), (None, 1),
    ]
    for row, layer in zip(rows, article_model.layers):
        assert row["parameters"] == layer.count_params()
    total = sum(row["parameters"] for row in rows)
    assert total == article_model.count_params() == 5_327_937


@pytest.mark.parametrize("shape, kernel", [((64, 64, 1), 5), ((28, 40, 2), 3), ((150, 150, 3), 7)])
def test_total_is_count_params_for_other_inputs(shape, kernel):
    model = seed_cnn(shape, kernel_size=kernel)
    rows = layer_table(model)
    assert sum(row["parameters"] for row in rows) == model.count_params()
    assert rows[0]["parameters"] == kernel * kernel * shape[2] * 32 + 32
    flat = rows[4]["output_shape"][1]
    assert rows[5]["parameters"] == flat * 64 + 64


def test_layer_table_counts_non_trainable_weights_like_keras():
    model = keras.Sequential([keras.Input((6, 6, 2)), keras.layers.BatchNormalization(name="bn")])
    (row,) = layer_table(model)
    assert row["weight_shapes"] == [(2,)] * 4  # gamma, beta, moving mean, moving variance
    assert row["parameters"] == model.count_params() == 8


def test_layer_table_needs_a_built_model():
    model = keras.Sequential([keras.layers.Dense(3, name="d")])
    with pytest.raises(ValueError, match="'d' has no output shape yet"):
        layer_table(model)


# ------------------------------------------------------------ printed table
EXPECTED_TABLE = """\
layer    kind          output shape          weights                            parameters
conv1    Conv2D        (None, 148, 148, 32)  kernel (3, 3, 3, 32), bias (32,)          896
pool1    MaxPooling2D  (None, 74, 74, 32)    -                                           0
conv2    Conv2D        (None, 72, 72, 64)    kernel (3, 3, 32, 64), bias (64,)      18,496
pool2    MaxPooling2D  (None, 36, 36, 64)    -                                           0
flatten  Flatten       (None, 82944)         -                                           0
dense1   Dense         (None, 64)            kernel (82944, 64), bias (64,)      5,308,480
output   Dense         (None, 1)             kernel (64, 1), bias (1,)                  65
total                                                                            5,327,937
"""


def test_print_layer_table_is_plain_fixed_width_text(article_model, capsys):
    print_layer_table(article_model)
    text = capsys.readouterr().out
    assert text == EXPECTED_TABLE
    assert text.isascii() and "\x1b" not in text
    assert _format_layer_table(article_model) == EXPECTED_TABLE.rstrip("\n")
    lines = text.splitlines()
    assert len({len(line) for line in lines[:-1]}) <= 2  # columns line up (total line is shorter)
    assert all(line == line.rstrip() for line in lines)


# ------------------------------------------------------------ shapes by formula
@pytest.mark.parametrize(
    "shape, kernel",
    [((150, 150, 3), 3), ((64, 64, 1), 5), ((64, 64, 3), 3), ((28, 28, 1), 3),
     ((33, 47, 2), 7), ((16, 16, 4), 1), ((10, 10, 1), 3)],
)
def test_formula_shapes_equal_keras_shapes_for_the_seed_cnn(shape, kernel):
    model = seed_cnn(shape, kernel_size=kernel)
    by_formula = output_shapes_by_formula(shape, model)
    assert by_formula == keras_output_shapes(model)
    assert by_formula[-1] == ("output", (1,))


def test_formula_shapes_of_the_articles_network(article_model):
    sides = [shape[0] for _, shape in output_shapes_by_formula((150, 150, 3), article_model)[:4]]
    assert sides == [148, 74, 72, 36]
    assert output_shapes_by_formula((150, 150, 3), article_model)[4] == ("flatten", (FLAT,))


def test_formula_works_on_unbuilt_layers():
    layers = [keras.layers.Conv2D(8, 3, strides=2, name="c"), keras.layers.Flatten(name="f")]
    assert output_shapes_by_formula((9, 9, 1), layers) == [("c", (4, 4, 8)), ("f", (128,))]


def test_dense_acts_on_the_last_axis_only():
    model = keras.Sequential([keras.Input((36, 36, 64)), keras.layers.Dense(10, name="d")])
    assert output_shapes_by_formula((36, 36, 64), model) == [("d", (36, 36, 10))]
    assert keras_output_shapes(model) == [("d", (36, 36, 10))]


@given(
    n=st.integers(1, 40),
    m=st.integers(1, 40),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 4),
    dilation=st.integers(1, 3),
    padding=st.sampled_from(["valid", "same"]),
    pool=st.integers(1, 4),
    pool_stride=st.integers(1, 4),
    pool_padding=st.sampled_from(["valid", "same"]),
    average=st.booleans(),
)
def test_formula_equals_keras_compute_output_shape(
    n, m, kernel, stride, dilation, padding, pool, pool_stride, pool_padding, average
):
    # Keras refuses strides > 1 together with dilation > 1
    if stride > 1 and dilation > 1:
        dilation = 1
    span = dilation * (kernel - 1) + 1
    if padding == "valid" and span > min(n, m):
        return
    conv = keras.layers.Conv2D(5, kernel, strides=stride, dilation_rate=dilation, padding=padding,
                               name="conv")
    conv_shape = conv.compute_output_shape((None, n, m, 2))
    if pool_padding == "valid" and pool > min(conv_shape[1:3]):
        return
    kind = keras.layers.AveragePooling2D if average else keras.layers.MaxPooling2D
    pooling = kind(pool, strides=pool_stride, padding=pool_padding, name="pool")
    pool_shape = pooling.compute_output_shape(conv_shape)
    flat = keras.layers.Flatten(name="flat")
    flat_shape = flat.compute_output_shape(pool_shape)
    dense = keras.layers.Dense(3, name="dense")
    expected = [
        ("conv", tuple(conv_shape[1:])),
        ("pool", tuple(pool_shape[1:])),
        ("flat", tuple(flat_shape[1:])),
        ("dense", tuple(dense.compute_output_shape(flat_shape)[1:])),
    ]
    assert output_shapes_by_formula((n, m, 2), [conv, pooling, flat, dense]) == expected


def test_shape_keeping_layers():
    layers = [
        keras.layers.Rescaling(1 / 255, name="scale"),
        keras.layers.BatchNormalization(name="bn"),
        keras.layers.ReLU(name="relu"),
        keras.layers.Dropout(0.5, name="drop"),
        keras.layers.Activation("sigmoid", name="act"),
    ]
    assert output_shapes_by_formula((5, 6, 2), layers) == [
        (name, (5, 6, 2)) for name in ("scale", "bn", "relu", "drop", "act")
    ]


# ------------------------------------------------------------ errors
def test_too_small_input_names_the_layer():
    # the seed network's layers, unbuilt (Keras itself refuses to build this model)
    layers = [
        keras.layers.Conv2D(32, 7, name="conv1"),
        keras.layers.MaxPooling2D(2, name="pool1"),
        keras.layers.Conv2D(64, 7, name="conv2"),
    ]
    # 16 -> 10 -> 5, and a 7 x 7 kernel does not fit in 5 x 5
    with pytest.raises(ValueError, match=r"layer 'conv2' \(Conv2D\) with input \(5, 5, 32\): kernel"):
        output_shapes_by_formula((16, 16, 1), layers)
    with pytest.raises(ValueError, match=r"layer 'pool1' \(MaxPooling2D\) with input \(1, 1, 32\)"):
        output_shapes_by_formula((7, 7, 1), layers)


def test_unsupported_layer_is_named():
    layers = [keras.layers.Conv2DTranspose(2, 3, name="up")]
    with pytest.raises(ValueError, match=r"'up' \(Conv2DTranspose\) has no shape formula"):
        output_shapes_by_formula((8, 8, 1), layers)


def test_channels_first_and_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="channels_last"):
        output_shapes_by_formula((1, 8, 8), [keras.layers.Conv2D(2, 3, data_format="channels_first")])
    with pytest.raises(ValueError, match=r"needs a \(height, width, channels\) input"):
        output_shapes_by_formula((64,), [keras.layers.Conv2D(2, 3, name="c")])
    for bad in [(0, 8, 1), (8.0, 8, 1), ()]:
        with pytest.raises(ValueError, match="input_shape must be a tuple of positive ints"):
            output_shapes_by_formula(bad, [keras.layers.Flatten()])


# ------------------------------------------------------------ FLOPs
def test_flops_of_a_known_net():
    net = keras.Sequential([keras.Input((6, 6, 2)), keras.layers.Conv2D(3, 3, name="c"),
                            keras.layers.MaxPooling2D(2, name="p"), keras.layers.Flatten(name="f"),
                            keras.layers.Dense(5, name="d")])
    rows = layer_table(net)
    assert [r["name"] for r in rows] == ["c", "p", "f", "d"]
    # Conv2D: 4 x 4 outputs x 3 channels, each 3 x 3 x 2 multiply-adds; Dense: 12 x 5
    assert [r["flops"] for r in rows] == [2 * 3 * 3 * 2 * 3 * 4 * 4, 0, 0, 2 * 12 * 5]
    assert [r["parameters"] for r in rows] == [3 * 3 * 2 * 3 + 3, 0, 0, 12 * 5 + 5]
    assert rows[0]["output_shape"] == (None, 4, 4, 3) and rows[3]["output_shape"] == (None, 5)
    assert flops(net) == 2 * (3 * 3 * 2 * 3 * 16 + 60)


def test_dense_on_feature_maps_counts_every_position():
    net = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Dense(2)])
    assert flops(net) == 2 * 3 * 2 * 16


def test_seed_cnn_flops_by_formula():
    rows = {r["name"]: r for r in layer_table(seed_cnn((28, 28, 1)))}
    assert rows["conv1"]["flops"] == 2 * 9 * 1 * 32 * 26 * 26
    assert rows["conv2"]["flops"] == 2 * 9 * 32 * 64 * 11 * 11
    assert rows["dense1"]["flops"] == 2 * 5 * 5 * 64 * 64
    assert sum(r["parameters"] for r in rows.values()) == seed_cnn((28, 28, 1)).count_params()


def test_small_cnn_is_cheaper_than_seed_cnn_at_every_size():
    for size in (28, 64):
        assert flops(small_cnn((size, size, 1))) < flops(seed_cnn((size, size, 1)))


def test_flops_need_a_known_input_size():
    model = unet((None, None, 1), depth=1, base_filters=2, convs=1)
    rows = layer_table(model)
    assert rows[0]["flops"] == 0 and rows[1]["flops"] is None  # the input layer, down1_conv1
    with pytest.raises(ValueError, match="'down1_conv1' has output shape \\(None, None, None, 2\\)"):
        flops(model)


# ------------------------------------------------------------ measured speed
def test_training_speed_is_positive_and_checks_arguments():
    assert training_speed(small_cnn((8, 8, 1), width=2), batch_size=4, steps=1, warmup=1) > 0
    with pytest.raises(ValueError, match="steps"):
        training_speed(small_cnn((8, 8, 1)), steps=0)


def test_gpus_is_a_list_of_names():
    found = gpus()
    assert isinstance(found, list) and all(isinstance(name, str) for name in found)


# ------------------------------------------------------------ 3-D layers
def _net3d(input_shape=(40, 56, 40, 1)):
    return keras.Sequential([
        keras.Input(input_shape),
        keras.layers.Conv3D(8, 3, padding="same", name="c1"),
        keras.layers.MaxPooling3D(2, name="p1"),
        keras.layers.Conv3D(16, (3, 3, 1), strides=(1, 2, 1), name="c2"),
        keras.layers.AveragePooling3D((2, 1, 2), padding="same", name="p2"),
        keras.layers.Flatten(name="f"),
        keras.layers.Dense(3, name="d"),
    ])


def test_layer_table_counts_conv3d_parameters_and_flops():
    net = _net3d()
    rows = {r["name"]: r for r in layer_table(net)}
    assert sum(r["parameters"] for r in rows.values()) == net.count_params()
    assert rows["c1"]["parameters"] == 27 * 1 * 8 + 8 == net.get_layer("c1").count_params()
    assert rows["c2"]["parameters"] == 9 * 8 * 16 + 16 == net.get_layer("c2").count_params()
    # 2 per multiply-add: kd kh kw C_in F per output voxel
    assert rows["c1"]["flops"] == 2 * 27 * 1 * 8 * 40 * 56 * 40
    assert rows["c2"]["output_shape"] == (None, 18, 13, 20, 16)
    assert rows["c2"]["flops"] == 2 * 9 * 8 * 16 * 18 * 13 * 20
    assert rows["p1"]["flops"] == rows["p2"]["flops"] == 0
    assert flops(net) == sum(r["flops"] for r in rows.values())


def test_conv3d_costs_k_times_the_conv2d_of_one_slice():
    """The same 3 x 3 (x 3) layer on a 40 x 56 (x 40) input: 3x the parameters per filter, 3 x 40 x the FLOPs."""
    net2 = keras.Sequential([keras.Input((56, 40, 1)), keras.layers.Conv2D(8, 3, padding="same")])
    net3 = keras.Sequential([keras.Input((40, 56, 40, 1)), keras.layers.Conv3D(8, 3, padding="same")])
    (row2,), (row3,) = layer_table(net2), layer_table(net3)
    assert (row3["parameters"] - 8) == 3 * (row2["parameters"] - 8)
    assert row3["flops"] == 3 * 40 * row2["flops"]


@pytest.mark.parametrize("input_shape", [(40, 56, 40, 1), (9, 17, 12, 2)])
def test_formula_shapes_equal_keras_shapes_for_3d_layers(input_shape):
    net = _net3d(input_shape)
    assert output_shapes_by_formula(input_shape, net) == keras_output_shapes(net)


def test_3d_layers_need_a_volume_input():
    with pytest.raises(ValueError, match=r"needs a \(depth, height, width, channels\) input"):
        output_shapes_by_formula((40, 56, 1), [keras.layers.Conv3D(8, 3, name="c")])
