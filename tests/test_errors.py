"""posessl's user-facing errors: one family, each keeping the built-in kind
callers catch, each reported by the tools in one line."""
import pytest

from posessl import errors
from posessl.engine.cli import is_user_error

BUILTIN_KIND = {
    'DataError': ValueError, 'BopCsvError': ValueError,
    'InferenceError': ValueError, 'CheckpointError': RuntimeError,
    'TrainingStopped': RuntimeError, 'WorkDirLocked': RuntimeError,
    'LauncherError': Exception, 'UserError': Exception
}


def test_every_error_is_listed():
    assert sorted(errors.__all__) == sorted([*BUILTIN_KIND, 'PosesslError'])


@pytest.mark.parametrize('name', sorted(BUILTIN_KIND))
def test_an_error_is_a_posessl_error_of_its_builtin_kind(name):
    cls = getattr(errors, name)
    err = cls('some/file.json: broken')
    assert isinstance(err, errors.PosesslError)
    assert isinstance(err, BUILTIN_KIND[name])
    assert is_user_error(err)


def test_the_packages_export_the_same_classes():
    from posessl.apis import InferenceError
    from posessl.datasets import DataError
    from posessl.engine import CheckpointError, TrainingStopped
    from posessl.evaluation import BopCsvError

    assert (DataError, BopCsvError, InferenceError, CheckpointError,
            TrainingStopped) == (errors.DataError, errors.BopCsvError,
                                 errors.InferenceError,
                                 errors.CheckpointError,
                                 errors.TrainingStopped)


def test_a_builtin_error_from_outside_posessl_is_not_a_user_error():
    try:
        int('x')
    except ValueError as err:
        assert not is_user_error(err)
