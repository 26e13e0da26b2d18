"""Network building blocks, one idea per module; layer types are passed in, not hard-coded."""

from liveness.layers.cbam import CBAM
from liveness.layers.mobilenetv3 import MobileNetV3Small
from liveness.layers.motion import BlockFlow

__all__ = ["CBAM", "BlockFlow", "MobileNetV3Small"]
