from django.db import migrations

# The default topics of the design document. Keywords seed the automatic
# tagger; editors refine them in the admin.
DEFAULT_TOPICS = [
    ("inference-serving", "LLM inference & serving",
     "Serving engines, batching and scheduling, kernels, KV-cache management, on-device and hardware-aware inference.",
     "inference, serving, serving system, throughput, latency, batching, scheduling, kernel, GPU kernel, "
     "vLLM, TensorRT, FlashAttention, on-device, edge device, hardware-aware, decoding efficiency, "
     "inference efficiency, inference cost, memory bandwidth, prefill, KV cache management"),
    ("quantization-compression", "Quantization & compression",
     "Quantization, pruning, sparsity, low-bit formats, distillation into smaller models.",
     "quantization, quantized, low-bit, 4-bit, 8-bit, W4A16, W8A8, INT4, INT8, FP8, FP4, pruning, "
     "sparsity, sparse, compression, compressed, distillation, knowledge distillation, binarization, "
     "post-training quantization, GPTQ, AWQ"),
    ("speculative-decoding", "Speculative & parallel decoding",
     "Draft models, lookahead and parallel decoding, multi-token prediction.",
     "speculative decoding, draft model, draft tokens, drafter, lookahead decoding, parallel decoding, "
     "multi-token prediction, Medusa, EAGLE, verification of drafts, token tree"),
    ("reasoning", "Reasoning & test-time compute",
     "Chain of thought, test-time scaling, verifiers, math and logic reasoning.",
     "reasoning, chain-of-thought, chain of thought, CoT, test-time scaling, test-time compute, "
     "verifier, math reasoning, mathematical, logical reasoning, long CoT, thinking, o1, "
     "DeepSeek-R1, AIME, MATH500, problem solving"),
    ("multimodal", "Vision-language & multimodal",
     "VLMs, multimodal LLMs, visual tokens, image and video understanding.",
     "vision-language, VLM, multimodal, multi-modal, MLLM, LVLM, visual tokens, image understanding, "
     "video understanding, visual question answering, VQA, vision language model, visual reasoning"),
    ("agents-tools", "Agents & tool use",
     "Tool learning, API calling, GUI and web agents, planning.",
     "agent, agents, agentic, tool use, tool learning, tool calling, function calling, API calling, "
     "GUI agent, web agent, planning, multi-agent, computer use, browsing"),
    ("diffusion-lm", "Diffusion language models",
     "Discrete and masked diffusion for text.",
     "diffusion language model, masked diffusion, discrete diffusion, diffusion LLM, dLLM, "
     "text diffusion, LLaDA"),
    ("architectures", "Model architectures",
     "State-space models, hybrids, recurrent LMs, mixture of experts, attention variants.",
     "architecture, state space model, SSM, Mamba, hybrid architecture, recurrent, RNN, "
     "mixture of experts, MoE, attention mechanism, linear attention, sparse attention, transformer "
     "variant, positional encoding, decoder-decoder"),
    ("long-context", "Long context & KV cache",
     "Long inputs, KV-cache compression and retrieval.",
     "long context, long-context, context length, context window, KV cache, KV-cache compression, "
     "long sequence, million tokens, 128K, long document, context extension, memory"),
    ("evaluation", "Benchmarks & evaluation",
     "Benchmarks, evaluation methods, evaluation datasets.",
     "benchmark, evaluation, evaluate, leaderboard, evaluation dataset, test suite, metric, "
     "LLM-as-a-judge, human evaluation, assessment"),
    ("safety-trust", "Safety & trust",
     "Safety, alignment, calibration and uncertainty, hallucination, auditing, explainability.",
     "safety, alignment, jailbreak, red teaming, harmful, calibration, uncertainty, hallucination, "
     "trustworthy, auditing, explainability, interpretability, privacy, robustness, watermark, bias"),
    ("fine-tuning", "Fine-tuning & adaptation",
     "PEFT, adapters, LoRA, instruction tuning.",
     "fine-tuning, fine-tune, finetuning, PEFT, parameter-efficient, adapter, LoRA, QLoRA, "
     "instruction tuning, supervised fine-tuning, SFT, domain adaptation, continual learning"),
    ("surveys", "Surveys",
     "Survey and overview papers.",
     "survey, overview, review, systematic review, taxonomy, comprehensive review, position paper"),
    ("retrieval-rag", "Retrieval & RAG",
     "Retrieval-augmented generation, search, knowledge augmentation.",
     "retrieval, retrieval-augmented, RAG, retriever, search engine, dense retrieval, embedding model, "
     "reranking, knowledge base, knowledge graph, question answering over documents"),
    ("image-video-generation", "Image & video generation",
     "Text-to-image and video diffusion, editing, 3D generation.",
     "text-to-image, image generation, video generation, text-to-video, diffusion model, image editing, "
     "video editing, 3D generation, novel view synthesis, Gaussian splatting, generative model, "
     "image synthesis, DiT, flow matching"),
    ("robotics-embodied", "Robotics & embodied AI",
     "Robot learning, vision-language-action models, embodied agents.",
     "robot, robotics, robotic manipulation, embodied, vision-language-action, VLA, navigation, "
     "manipulation, locomotion, autonomous driving, world model"),
    ("speech-audio", "Speech & audio",
     "Speech recognition, TTS, audio language models, music.",
     "speech, audio, ASR, speech recognition, text-to-speech, TTS, voice, spoken, music, sound, "
     "audio language model"),
    ("code", "Code & software engineering",
     "Code generation, software-engineering agents, program synthesis.",
     "code generation, code, coding, programming, software engineering, SWE-bench, program synthesis, "
     "repository, compiler, bug fixing, code LLM"),
    ("reinforcement-learning", "RL & preference optimization",
     "RLHF, RL with verifiable rewards, DPO, reward models.",
     "reinforcement learning, RL, RLHF, RLVR, verifiable rewards, DPO, preference optimization, "
     "reward model, PPO, GRPO, policy optimization, preference data"),
]


def create_topics(apps, schema_editor):
    Topic = apps.get_model("newsletter", "Topic")
    for position, (slug, name, description, keywords) in enumerate(DEFAULT_TOPICS):
        Topic.objects.update_or_create(
            slug=slug,
            defaults={"name": name, "description": description, "keywords": keywords,
                      "position": position, "active": True},
        )


def remove_topics(apps, schema_editor):
    Topic = apps.get_model("newsletter", "Topic")
    Topic.objects.filter(slug__in=[t[0] for t in DEFAULT_TOPICS]).delete()


class Migration(migrations.Migration):
    dependencies = [("newsletter", "0002_initial")]
    operations = [migrations.RunPython(create_topics, remove_topics)]
