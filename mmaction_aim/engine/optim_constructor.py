"""MMEngine's optimizer-wrapper constructor, with one summary line instead of
a warning for every frozen parameter."""
import logging

from mmengine.logging import MMLogger, print_log
from mmengine.optim import DefaultOptimWrapperConstructor

from mmaction.registry import OPTIM_WRAPPER_CONSTRUCTORS

_SKIPPED = 'is skipped since its requires_grad=False'


class _CountSkipped(logging.Filter):
    """Drops the per-parameter "skipped" warnings, counting them."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if _SKIPPED in record.getMessage():
            self.count += 1
            return False
        return True


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class AIMOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """``DefaultOptimWrapperConstructor``, quiet about the frozen image model.

    With a ``paramwise_cfg`` MMEngine warns once per parameter that does not
    train ("... is skipped since its requires_grad=False"): for AIM, every
    parameter of the frozen image model (214 lines for the demo's tiny ViT,
    about 150 for ViT-B/16), burying the log. This constructor builds the
    same optimizer and logs one line with their number instead.

    Args: as ``DefaultOptimWrapperConstructor``.
    """

    def __call__(self, model):
        logger = MMLogger.get_current_instance()
        counter = _CountSkipped()
        logger.addFilter(counter)
        try:
            optim_wrapper = super().__call__(model)
        finally:
            logger.removeFilter(counter)
        if counter.count:
            print_log(
                f'{counter.count} parameters that do not train (the frozen '
                'image model) are not given to the optimizer', logger=logger)
        return optim_wrapper
