import importlib

from django.db import migrations

# Richer keywords for the default topics, in the tagger's syntax (see
# newsletter/tagging/match.py): one item per line or comma-separated;
# "phrase^2" weights a phrase, a negative weight counts against the topic,
# "title:" counts only title hits, /regex/ on a line of its own. Phrases match
# on word stems; words with two capitals or a digit (MoE, W4A16) match exactly,
# and so do phrases in double quotes.
# A topic whose keywords an editor already changed is left alone.
KEYWORDS = {
    "inference-serving": r"""
serving^2, serving system^2, LLM serving^2, inference engine^2, inference system^1.5
inference framework, inference^0.5, LLM inference
efficient inference^1.5, inference efficiency^1.5, inference acceleration^1.5, accelerating inference^1.5
inference speed^1.5, inference latency^1.5, inference cost, inference performance^1.5, inference workload^2
throughput, latency, tail latency^1.5, time to first token^2, TTFT^2, TPOT^2, tokens per second
batching^1.5, continuous batching^2, batch size^0.5, scheduling, scheduler, request^0.5, SLO^2
kernel^1.5, GPU kernel^2, CUDA^1.5, Tensor Core^2, GEMM^2, kernel fusion^2, FlashAttention, FlashDecoding^2
vLLM^1.5, SGLang^2, TensorRT^2, TensorRT-LLM^2, llama.cpp^2, PagedAttention^2
on-device^2, edge device^2, edge^0.5, mobile, NPU^2, CPU, GPU^0.5, hardware, hardware-aware^2, accelerator
memory bandwidth^1.5, memory-bound^1.5, memory management, offloading^1.5, flash memory^1.5, DRAM^1.5
prefill^1.5, prefilling^1.5, decode phase^1.5, token generation phase^1.5, KV cache management^2
speedup^0.5, deployment^0.5, deploy^0.5
inference-time^-1, inference time scaling^-1, inference-time compute^-1, inference scaling^-1, test-time^-1
""",
    "quantization-compression": r"""
quantization^2, low-bit^2, ultra-low bit^2, weight-only^1.5, activation quantization^1.5
/\b[1-8](?:\.\d+)?-bit\b/^1.5
/\bW\d\d?A\d\d?\b/^2
INT4^1.5, INT8^1.5, FP8, FP4^1.5, NF4^2, FP16^0.5, BF16^0.5, mixed-precision^1.5, arbitrary precision^1.5
post-training quantization^2, PTQ^2, QAT^2, GPTQ^2, AWQ^2, SmoothQuant^2, vector quantization^2, codebook
pruning^2, pruned^2, sparsity^1.5, sparse^0.5, semi-structured sparsity^2
/\b(?:\d|N):(?:\d|M)\b/^1.5
compression^0.5, model compression^2, compressed model^1.5, compressibility^1.5, lossless compression
distillation, knowledge distillation^1.5, binarization^2, ternary^2, outlier, model size^0.5
token pruning^-1.5, token merging^-1.5, prompt compression^-1.5, token compression^-1.5, KV cache compression^-1
context sparsification^-1.5, CoT compression^-2, thinking compression^-2, visual token^-0.5
""",
    "speculative-decoding": r"""
speculative decoding^3, speculative^2, speculative sampling^3
draft model^3, draft^1.5, drafter^2, draft tokens^2, target model, acceptance rate^2, accepted tokens^1.5
lookahead decoding^3, lookahead^2, parallel decoding^2.5, multi-token prediction^3, multiple tokens per step^2
several tokens per step^2, semi-autoregressive^2, non-autoregressive, Jacobi decoding^3
Medusa^2, EAGLE^2, EAGLE2^2, EAGLE3^2, token tree^2, tree verification^1.5, lossless acceleration
""",
    "reasoning": r"""
reasoning^1.5, reasoner^1.5, chain-of-thought^2, CoT^2, long CoT^1.5, thought^0.5, step-by-step
test-time scaling^2.5, test-time compute^2.5, test-time^1.5, inference-time scaling^2.5
inference-time compute^2.5, inference-time^1.5, inference scaling^2, compute-optimal^1.5
verifier^2, verification^0.5, process reward model^1.5, PRM^1.5, process supervision^2, best-of-N^2
self-consistency^2, majority voting, tree search^1.5, MCTS^2, Monte Carlo Tree Search^2
math reasoning^2, mathematical reasoning^2, mathematical, math, logical reasoning^2, logic, deductive^1.5
inductive^1.5, theorem proving^2, theorem^1.5, prover^1.5, proof, problem solving, multi-step reasoning^1.5
/\b(?:GSM8K|MATH-?500|AIME\s?\d*|GPQA|MiniF2F|ProofWriter|FOLIO)\b/^1.5
o1, o3, DeepSeek-R1, LRM^2, large reasoning model^2, thinking, overthinking^2, slow thinking^1.5
""",
    "multimodal": r"""
vision-language^2, vision language model^2.5, VLM^2.5, LVLM^2.5, VLLM^2.5, MLLM^2.5, LMM^2, DMLLM^2
multimodal^2, multi-modal^2, visual^1, vision^1, image^1, video^1
visual token^2, visual question answering^2, VQA^2, LLaVA^2, image understanding^2, video understanding^2
visual reasoning^2, visual perception^2, vision encoder^2, visual encoder^2, visual backbone^2
CLIP, SigLIP, OCR, captioning^1.5, MMMU^1.5, MMBench^1.5, MME^1.5
""",
    "agents-tools": r"""
agent^2, agentic^2, multi-agent^2, agent system^1.5, compound AI system^2
tool use^3, tool learning^3, tool^1.5, tools^1.5, toolset^2, tool creation^2, tool-augmented^3
tool calling^3, tool invocation^3, tool usage^3, function calling^3, API calls^2, API^1.5, ReAct^2
planning^1.5, task planning^2, task decomposition^1.5, GUI agent^3, GUI^2, web agent^3, computer use^2
ToolBench^2, AndroidWorld^2, browsing^1.5
""",
    "diffusion-lm": r"""
diffusion language model^3, diffusion large language model^3, diffusion LLM^3, dLLM^3, DLLM^3, dMLLM^3
DMLLM^3, masked diffusion^3, discrete diffusion^3, text diffusion^3, LLaDA^3
diffusion^1, denoising^1, mask token^1, remasking^2
text-to-image^-1, image generation^-1, DDPM^-1, video diffusion^-1
""",
    "architectures": r"""
architecture^0.7, model architecture^1.5, new architecture^1.5, hybrid^1, hybrid architecture^2.5
state space model^3, state-space^2, SSM^3, Mamba^3, Samba^2, recurrent^2, RNN^2, xLSTM^3, LSTM^2, RWKV^3
linear attention^2.5, mixture of experts^2.5, mixture-of-expert^2.5, MoE^2, sparse attention, attention variant^2
positional encoding, decoder-decoder^2, YOCO^2, neural architecture search^3, NAS^2
hardware architecture^-1.5, GPU architecture^-1.5, coupled architecture^-1.5, system architecture^-1.5
""",
    "long-context": r"""
long context^3, long-context^3, context length^2, context window^2, long sequence^2, long input^2
long prompt^2, long document^2, million tokens^1.5, long generation^1.5, context extension^2
length extrapolation^2, KV cache^1.5, KV cache compression^3, KV cache eviction^3, KV cache dropping^3
KV cache reuse^2, token eviction^2, prompt compression^2, needle in a haystack^3, LongBench^3
SnapKV^2, H2O^2, StreamingLLM^2
""",
    "evaluation": r"""
title:benchmark^2, title:evaluation^1.5, title:assessing^1.5, title:empirical study^1.5
title:/Bench\b/^2
benchmark^0.3, new benchmark^2, comprehensive benchmark^2, challenging benchmark^2, benchmark dataset^2
evaluation framework^1.5, evaluation scheme^1.5, evaluation protocol^1, evaluation criteria^1
evaluation method^1.5, evaluation dataset^2, empirical study^1.5, empirical evaluation^1.5
comprehensive evaluation^1, comprehensive study^1, leaderboard^2, LLM-as-a-judge^2, human evaluation
""",
    "safety-trust": r"""
safety^2, safe, harmful^1.5, jailbreak^3, red teaming^3, attack^1, defense^1, adversarial
alignment^0.5, trustworthy^2, trust^1, auditing^2.5, audit^2.5
calibration^2, calibrated^2, confidence estimation^2, uncertainty^2, overconfident^2, confidence^1
hallucination^2.5, hallucinate^2.5
explainability^2.5, explainable^2, explanation^1.5, explainer^2, interpretability, post hoc^1.5, XAI^2.5
privacy^1.5, bias^1, fairness^2, toxicity^2, watermark^2, data contamination^2, contamination^1.5
""",
    "fine-tuning": r"""
fine-tuning^2, finetuning^2, PEFT^3, parameter-efficient^3, adapter^1.5, LoRA^3, QLoRA^3
instruction tuning^3, instruction-tuned^2, instruction data^1.5, supervised fine-tuning^2, SFT^1.5
domain adaptation^2, continual learning^2, trainable parameters^1.5
without fine-tuning^-2, without any fine-tuning^-2, no fine-tuning^-2, without additional fine-tuning^-2
""",
    "surveys": r"""
survey^3, overview^1, systematic review^2, literature review^2, taxonomy^1.5, comprehensive review^2
position paper, paper collection
""",
    "retrieval-rag": r"""
retrieval-augmented^3, RAG^2, retrieval^1, retrieve^1, retriever^2, search engine^2, internet search^2
web search^2, knowledge-augmented^2, internet-augmented^2.5, augmented generation^2, dense retrieval^2
reranking^2, knowledge base, open-domain question answering^2, up-to-date knowledge^2, external knowledge
""",
    "image-video-generation": r"""
text-to-image^3, image generation^3, video generation^3, text-to-video^3, image-to-video^3
image synthesis^3, image editing^3, video editing^3, 3D generation^3, novel view synthesis^3
Gaussian splatting^2, NeRF^2, diffusion model^1, DiT^1.5, flow matching, Stable Diffusion^2
generative model^0.5
""",
    "robotics-embodied": r"""
robot^3, robotic manipulation^3, embodied^3, vision-language-action^3, VLA^3, navigation^1.5
manipulation^1.5, locomotion^2, autonomous driving^2.5, world model^1.5, sim-to-real^3, humanoid^2
""",
    "speech-audio": r"""
speech^3, audio^3, ASR^3, speech recognition^3, text-to-speech^3, TTS^3, voice^2, spoken^2.5
music^3, sound^1.5, audio language model^3, acoustic^2, speaker^1.5
""",
    "code": r"""
code generation^3, code LLM^3, "coding"^1.5, coding agent^3, "programming"^2, software engineering^3, SWE-bench^3
program synthesis^3, repository-level^2, compiler^1.5, bug^1.5, debugging^2, code completion^3
HumanEval^2, MBPP^2, LiveCodeBench^2, unit test^1.5
""",
    "reinforcement-learning": r"""
reinforcement learning^3, RL^2.5, RLHF^3, RLVR^3, RLAIF^3, verifiable rewards^3
DPO^3, direct preference optimization^3, preference optimization^3, reward model^2
policy optimization^2, PPO^2.5, GRPO^3, policy gradient^2, preference data^2, preference pairs^2
policy model^1.5, value model^1.5
without any reinforcement learning^-3, without reinforcement learning^-3
""",
}


def _default_keywords():
    defaults = importlib.import_module("newsletter.migrations.0003_default_topics").DEFAULT_TOPICS
    return {slug: keywords for slug, _name, _description, keywords in defaults}


def _replace(apps, old: dict, new: dict):
    Topic = apps.get_model("newsletter", "Topic")
    for topic in Topic.objects.filter(slug__in=new):
        # Only topics still carrying the keywords this migration expects.
        if topic.keywords.strip() == old[topic.slug].strip():
            topic.keywords = new[topic.slug].strip()
            topic.save(update_fields=["keywords"])


def richer_keywords(apps, schema_editor):
    _replace(apps, _default_keywords(), KEYWORDS)


def default_keywords(apps, schema_editor):
    _replace(apps, KEYWORDS, _default_keywords())


class Migration(migrations.Migration):
    dependencies = [("newsletter", "0003_default_topics")]
    operations = [migrations.RunPython(richer_keywords, default_keywords)]
