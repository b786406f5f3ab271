"""The training engine every lesson trains and predicts through (by kind, as MONAI's
``engines``/``inferers`` or d2l's one ``Trainer``); a lesson's module keeps only its recipe.

=====================================  ===================================================
``fit.fit(model, x, y, ...)``          seeded ``model.fit``: time budget, best weights,
                                       class weights, callbacks -> :class:`fit.Fit`
``fit.restart(model, initial)``        a compiled model back to initial weights and a fresh
                                       optimizer, without compiling or tracing again
``fit.initial_state(build, seed)``     the variables of a network freshly built with ``seed``
``predict.predict(model, images)``     batched inference, eager: nothing traced
``predict.as_batch(images)``           images (N, H, W[, C]) -> float32 (N, H, W, C)
``callbacks``                          ``TimeBudget``, ``BestWeights``, ``TimeCosineDecay``,
                                       ``StepRates``, ``BatchLosses``, ``EpochEnd``, ``EpochPlan``
``losses``                             soft Dice, BCE + Dice, ``segmentation_loss(name)``
``schedules``                          learning-rate schedules and the optimizer by name,
                                       ``AdjustableCosine`` (a cosine that may shorten)
=====================================  ===================================================

Import the modules themselves (``from medlab.engine.fit import fit``): this package imports
nothing, and :mod:`medlab.engine.predict` imports no TensorFlow.
"""
