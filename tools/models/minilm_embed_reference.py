#!/usr/bin/env python3
"""Reference answers for the minilm-embed and minilm-classify pipelines, computed independently of
the Java service: HuggingFace's `tokenizers` (Python), onnxruntime and numpy mean pooling, one
sentence at a time (no padding), as sentence-transformers does for all-MiniLM-L6-v2 (max_seq_length
256); for minilm-classify, the zero-shot topic scores (cosine similarity with each label
description's embedding, times the configured scale), softmax and the top 3 labels.

Reads the assembled model repository (models/target/repository: the fp32 model and the tokenizer.json
unpacked from the Maven Central jar, the topic labels) and writes
inference-service/src/test/resources/pipelines/minilm-embed-reference.json and
minilm-classify-reference.json, which PipelineTest compares the served answers with (tolerance
1e-4). Rerun after changing the model, the tokenizer, the labels or the sentences:

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

TOPIC_TEXTS = [
    "It is pouring with rain and the wind is freezing today.",
    "I was charged twice for my subscription, please refund me.",
    "The app crashes with a null pointer exception when I log in.",
    "My train to Paris was cancelled and I missed the flight.",
    "This pasta recipe needs garlic, tomatoes and fresh basil.",
    "Our team won the match in the last minute of extra time.",
]
TOP_K = 3


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


def read_config_parameter(config, key):
    text = config.read_text(encoding="utf-8")
    marker = 'key: "%s", value: { string_value: "' % key
    start = text.index(marker) + len(marker)
    return text[start:text.index('"', start)]


def classify(session, tokenizer):
    folder = REPO / "models" / "src" / "repository" / "topic-zero-shot"
    scale = float(read_config_parameter(folder / "config.pbtxt", "scale"))
    labels, descriptions = [], []
    for line in (folder / "labels.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip():
            label, description = line.split("\t", 1)
            labels.append(label.strip())
            descriptions.append(description.strip())
    prototypes = np.stack([embed(session, tokenizer, d)[0] for d in descriptions])
    prototypes /= np.linalg.norm(prototypes, axis=1, keepdims=True)
    rows = []
    for text in TOPIC_TEXTS:
        vector = embed(session, tokenizer, text)[0]
        scores = prototypes @ (vector / np.linalg.norm(vector)) * scale
        probabilities = np.exp(scores - scores.max())
        probabilities /= probabilities.sum()
        top = np.argsort(-probabilities, kind="stable")[:TOP_K]
        rows.append({"text": text, "labels": [labels[i] for i in top],
                     "scores": [float(probabilities[i]) for i in top]})
    return rows


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
    topics = classify(session, tokenizer)
    out = OUT.parent / "minilm-classify-reference.json"
    out.write_text(json.dumps({
        "generator": "tools/models/minilm_embed_reference.py",
        "tokenizers": tokenizers.__version__,
        "onnxruntime": ort.__version__,
        "numpy": np.__version__,
        "texts": topics,
    }, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(REPO)}: {len(topics)} texts")


if __name__ == "__main__":
    main()
