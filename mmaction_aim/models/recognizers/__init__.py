from .aim_recognizer import AIMRecognizer

__all__ = ['AIMRecognizer']
