"""Class embeddings from prompts: CLIP's zero-shot classifier."""
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .tokenizers import Tokenizer


@torch.no_grad()
def class_embeddings(tower: nn.Module, tokenizer: Tokenizer,
                     prompts: Sequence[Sequence[str]],
                     batch_size: int = 256) -> torch.Tensor:
    """Each class's embedding: the mean of its prompts' L2-normalised text
    embeddings, L2-normalised (as open_clip's
    ``build_zero_shot_classifier``).

    Args:
        tower (nn.Module): A text tower (tokens to embeddings), on the
            device to encode on.
        tokenizer (Tokenizer): Texts to token ids.
        prompts (Sequence[Sequence[str]]): ``[class][template]``, the same
            number of prompts for every class.
        batch_size (int): Prompts encoded at once. Defaults to 256.

    Returns:
        torch.Tensor: ``[num_classes, embed_dim]``, unit rows, float32.
    """
    per_class = len(prompts[0])
    texts = [p for group in prompts for p in group]
    device = next(tower.parameters()).device
    tower.eval()
    out = []
    for start in range(0, len(texts), batch_size):
        tokens = tokenizer(texts[start:start + batch_size]).to(device)
        out.append(F.normalize(tower(tokens).float(), dim=-1))
    emb = torch.cat(out).view(len(prompts), per_class, -1)  # [C, P, E]
    return F.normalize(emb.mean(dim=1), dim=-1)  # [C, E]
