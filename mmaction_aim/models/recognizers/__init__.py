from .aim_recognizer import AIMRecognizer, is_adapter_only

__all__ = ['AIMRecognizer', 'is_adapter_only']
