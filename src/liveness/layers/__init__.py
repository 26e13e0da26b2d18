"""Network building blocks, one idea per module; layer types are passed in, not hard-coded."""

from liveness.layers.cbam import CBAM
from liveness.layers.mobilenetv3 import MobileNetV3Small

__all__ = ["CBAM", "MobileNetV3Small"]
