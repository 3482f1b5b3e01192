#!/usr/bin/env python3
"""Reference sentence embeddings for the minilm-embed pipeline, computed independently of the
Java service: HuggingFace's `tokenizers` (Python), onnxruntime and numpy mean pooling, one sentence
at a time (no padding), as sentence-transformers does for all-MiniLM-L6-v2 (max_seq_length 256).

Reads the assembled model repository (models/target/repository: the fp32 model and the tokenizer.json
unpacked from the Maven Central jar) and writes
inference-service/src/test/resources/pipelines/minilm-embed-reference.json, which
MiniLmEmbedReferenceTest compares the served embeddings with (tolerance 1e-4). Rerun after changing
the model, the tokenizer or the sentences:

    ./mvnw -q -B -pl models package && tools/python/setup.sh && .venv/bin/python tools/models/minilm_embed_reference.py
"""
import json
import pathlib
import sys

import numpy as np
import onnxruntime as ort
import tokenizers

REPO = pathlib.Path(__file__).resolve().parents[2]
MODELS = REPO / "models" / "target" / "repository"
OUT = REPO / "inference-service" / "src" / "test" / "resources" / "pipelines" / "minilm-embed-reference.json"
MAX_LENGTH = 256

SENTENCES = [
    "what a lovely day",
    "The quick brown fox jumps over the lazy dog.",
    "I would like to cancel my subscription, please.",
    "Der Zug nach Berlin hat zwanzig Minuten Verspätung.",
    "naïve café résumé — déjà vu",
    "GPU out of memory while loading the model!!!",
    "a",
    "Emoji are text too 🙂👍",
    # Longer than 256 tokens: the pipeline truncates it, like sentence-transformers.
    " ".join(["serving models close to their callers keeps latency low"] * 40),
]


def embed(session, tokenizer, text):
    enc = tokenizer.encode(text)
    feeds = {
        "input_ids": np.array([enc.ids], dtype=np.int64),
        "attention_mask": np.array([enc.attention_mask], dtype=np.int64),
        "token_type_ids": np.array([enc.type_ids], dtype=np.int64),
    }
    hidden = session.run(["last_hidden_state"], feeds)[0][0]  # [tokens, 384]
    mask = feeds["attention_mask"][0][:, None].astype(np.float32)
    mean = (hidden * mask).sum(axis=0) / max(mask.sum(), 1e-9)
    return mean / max(np.linalg.norm(mean), 1e-12), len(enc.ids)


def main():
    model = MODELS / "minilm" / "1" / "model.onnx"
    tok_file = MODELS / "minilm-tokenizer" / "1" / "tokenizer.json"
    if not model.is_file() or not tok_file.is_file():
        sys.exit(f"{model} or {tok_file} is missing: run ./mvnw -q -B -pl models package first")
    tokenizer = tokenizers.Tokenizer.from_file(str(tok_file))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=MAX_LENGTH)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    rows = []
    for s in SENTENCES:
        vector, tokens = embed(session, tokenizer, s)
        rows.append({"text": s, "tokens": tokens, "embedding": [float(x) for x in vector]})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "generator": "tools/models/minilm_embed_reference.py",
        "tokenizers": tokenizers.__version__,
        "onnxruntime": ort.__version__,
        "numpy": np.__version__,
        "max_length": MAX_LENGTH,
        "sentences": rows,
    }, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(REPO)}: {len(rows)} sentences")


if __name__ == "__main__":
    main()
