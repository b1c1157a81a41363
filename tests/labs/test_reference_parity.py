"""The references the checks compare learners' layers with behave as torch 2.13's on every path those checks drive."""

import numpy as np
import pytest
import torch

import numtorch
from labkit.checks.batchnorm2d import SETTINGS, STEPS


@pytest.mark.parametrize("kwargs", SETTINGS, ids=str)
def test_numtorchs_batchnorm2d_is_torchs_in_every_setting_and_mode_the_lab_3_check_drives(kwargs):
    ours, theirs = numtorch.nn.BatchNorm2d(3, **kwargs), torch.nn.BatchNorm2d(3, **kwargs)
    rng = np.random.default_rng(0)
    for step in STEPS:
        ours.train(step == "train")
        theirs.train(step == "train")
        x = rng.standard_normal((8, 3, 4, 5)).astype(np.float32) * [[[[1]], [[2]], [[3]]]] + [[[[0]], [[3]], [[6]]]]
        x = x.astype(np.float32)
        assert np.allclose(ours(numtorch.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                           atol=1e-4), step
        mine, torchs = ours.state_dict(), theirs.state_dict()
        assert list(mine) == list(torchs)
        for name in torchs:
            assert np.allclose(mine[name].numpy(), torchs[name].numpy(), atol=1e-4), (step, name)
