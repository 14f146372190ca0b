"""`ask`: retrieve → pack within the budget → generate (streamed) → check citations.

The answer is in the language of the question, grounded in numbered sources, and says
so with a fixed sentence when the sources do not contain the answer. ``AnswerResult``
serialises to the stable ``ask --json`` contract.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

from petitrag.answer.citations import (
    Evidence,
    adds_only_topic,
    borrows,
    cited_numbers,
    draws_on,
    plain_words,
    recited,
    remove_invalid,
    restates,
    supporting,
)
from petitrag.answer.packing import (
    MIN_PASSAGE_TOKENS,
    PackedContext,
    any_foreign,
    heading_topic,
    pack,
    read_passages,
    source_text,
)
from petitrag.answer.prompts import (
    ABSTAIN,
    YES_NO,
    abstain_reply,
    build_messages,
    check_messages,
    example_names,
    fixed_prompt,
    is_abstention,
)
from petitrag.answer.result import AnswerResult, Citation, answer_timings, mean_token_probability
from petitrag.answer.streaming import HeldAnswer, PassSeparator, TokenCallback, answer_ended
from petitrag.answer.trim import first_repeat, settled, template_echo, trimmed
from petitrag.config import Settings
from petitrag.errors import GenerationError, QueryError
from petitrag.generation.base import Completion, GenerationParams, Generator, Message
from petitrag.generation.catalog import CATALOG
from petitrag.language import LANGUAGES, Language, detect_language, reads_as_french_or_english
from petitrag.retrieval.hybrid import Hit, Retriever
from petitrag.retrieval.ranking import COVERAGE_SCALE
from petitrag.routing.signals import compute_signals, retrieval_signals

#: ``AnswerResult.extra`` key: seconds a reading spent on what only a bench report uses
REPORT_ONLY = "report_only_s"
FIRST_SHOWN = "first_shown"  # when a pass's first words reached the user (perf_counter), if ever
#: the automatic ``min_score`` allows the best passage this share of the question's IDF weight
AUTO_COVERAGE = 0.025
#: languages where an answer made only of the question's words is an abstention (``grounded_only``):
#: all 12 such answers of the 1.5B model in two PIAF bench runs were wrong and 0.8 % of PIAF's gold
#: answers are so, while 7.6 % of SQuAD2's are ("randomized algorithms") and 2 of its 5 were right.
#: The same for an answer made of the question's words and the passages' headings, repeating one of
#: the question's ("Le guide d'entretien du vélo électrique [1]"): none of PIAF dev's 2,021 gold
#: answers is so with their article's title, 3.6 % of SQuAD2's are ("computational resource")
ABSTAIN_ON_RESTATEMENT: frozenset[Language] = frozenset({"fr"})


class Answerer:
    """Answers questions over one collection with one generator."""

    def __init__(
        self,
        settings: Settings,
        retriever: Retriever,
        generator: Generator,
        measure_abstention: bool = False,
        for_report: bool = False,
    ) -> None:
        """``measure_abstention``: record ``signals["abstain_logprob"]`` for every reading, also
        where no threshold needs it (a router whose calibration weighs it).

        ``for_report`` (bench): the self-check and the abstention likelihood are measured only
        for the report's suggestions where no threshold uses them, so their time is kept out of
        ``ttft_s`` and ``total_s``: those are the latencies of the same answer in production."""
        self.settings = settings
        self.retriever = retriever
        self.generator = generator
        self.measure_abstention = measure_abstention
        self.for_report = for_report
        self._fixed_tokens: dict[Language, int] = {}  # the rules and examples of each language

    def ask(self, question: str, k: int | None = None, on_token: TokenCallback | None = None) -> AnswerResult:
        started = time.perf_counter()
        question, language, hits = self.retrieve(question, k)
        return self.answer(question, language, hits, time.perf_counter() - started, on_token)

    def retrieve(self, question: str, k: int | None = None) -> tuple[str, Language, list[Hit]]:
        """The cleaned question, its language and the passages found for it. A question with no
        sign of its language ("Julien Darui") is taken to be in the best passage's."""
        question = question.strip()
        if not question:
            raise QueryError("the question is empty")
        if not any(character.isalnum() for character in question):  # "🌞🔋?": the model echoed it
            raise QueryError("the question has no words to search for")
        self.retriever.store.require_documents(self.retriever.collection_name)
        self.require_room(question)  # before searching: a 100,000-word one takes minutes to search
        hits = self.retriever.search(question, k=k or self.settings.search_k).hits
        top_language = hits[0].language if hits else ""
        return (
            question,
            detect_language(question, default="fr" if top_language == "fr" else "en"),
            hits,
        )

    def answer(
        self,
        question: str,
        language: Language,
        hits: list[Hit],
        retrieval_s: float = 0.0,
        on_token: TokenCallback | None = None,
    ) -> AnswerResult:
        """Answer from already retrieved passages (a router reuses them for its second model).

        Best-first reading (the default): the model first reads the top passage alone, and
        reads all passages together only when that one does not answer. On PIAF the top
        passage alone is answered better than all five at once (the others distract small
        models) at a third of the prompt; the second pass reuses the KV of the shared start
        (rules, examples, passage [1]), so falling back costs little more than reading all.
        ``reading = "top"`` never falls back: the top passage's abstention is the answer.
        """
        started = time.perf_counter() - retrieval_s
        if not hits or self._too_weak(question, hits, language):
            return self._abstain_without_model(language, hits, retrieval_s)
        budget = self._budget(question, language)
        top_only = self.settings.reading == "top"
        best_first = self.settings.reading in ("best-first", "top") and len(hits) > 1
        rereads = best_first and not top_only and self.settings.reread_below is not None
        held_back = self.settings.abstain_below is not None or rereads
        # a checked answer is shown only once it passed
        live = None if held_back or on_token is None else PassSeparator(on_token)
        passes: list[AnswerResult] = []
        last_started = time.perf_counter()
        if best_first:
            passes.append(self._read(question, language, hits[:1], hits, budget, live, final=top_only))
        if (
            not passes
            or (passes[0].abstained and not top_only)
            or (rereads and self._fails_reread_check(question, passes[0]))
        ):
            last_started = time.perf_counter()
            if live is not None:
                live.next_pass()
            passes.append(self._read(question, language, hits, hits, budget, live, final=True))
        result = passes[-1]
        checked_at = time.perf_counter()
        if self._wants_check(result) and not (rereads and result is passes[0]):  # else checked already
            self._check(question, language, result)
        report_only = [p.extra.pop(REPORT_ONLY, 0.0) for p in passes]  # not part of a user's wait
        shown = [at for p in passes if (at := p.extra.pop(FIRST_SHOWN, None)) is not None]
        if self.for_report and self.settings.abstain_below is None:
            report_only.append(time.perf_counter() - checked_at)
        self._gate(language, result)
        if held_back and on_token is not None:
            on_token(result.answer)
        waited = last_started - started - sum(report_only[: len(passes) - 1])  # retrieval, any first pass
        total = time.perf_counter() - started - sum(report_only)
        result.timings.update(answer_timings(passes, retrieval_s, waited, total))
        if held_back:  # nothing is shown before the check: that is when the first token reaches the user
            result.timings["ttft_s"] = result.timings["total_s"]
        elif shown:  # words of a first pass flowed, then were withdrawn: the user saw those first
            result.timings["ttft_s"] = min(shown) - started
        return result

    def _wants_check(self, result: AnswerResult) -> bool:
        settings = self.settings
        return not result.abstained and (settings.abstain_below is not None or settings.self_check)

    def _fails_reread_check(self, question: str, first: AnswerResult) -> bool:
        """Whether the answer from the top passage alone fails its self-check, so that all
        passages are read: when that passage is the wrong one, small models answer from it
        anyway, and their check is what notices (PIAF and SQuAD2: +0.03 F1 at 0.8)."""
        yes = self._check(question, first.language, first)
        return yes is not None and yes < (self.settings.reread_below or 0.0)

    def _read(
        self,
        question: str,
        language: Language,
        passages: list[Hit],
        hits: list[Hit],
        budget: int,
        on_token: TokenCallback | None,
        final: bool,
    ) -> AnswerResult:
        """One generation over ``passages`` (retrieval signals still come from all ``hits``).

        Its abstention is shown only when no other pass follows (``final``)."""
        context = pack(passages, question, language, budget, self.generator.count_tokens)
        messages = self._messages(question, language, context)
        evidence = self._evidence(context)
        seen = (
            plain_words(question, *(source_text(hit) for hit in context.hits))  # headings too
            if self.settings.grounded_only
            else None
        )
        stands = self._stands(question, language, evidence, seen, context)
        held = HeldAnswer(on_token, language, stands, self._settle(question, language))
        completion, likely, report_only_s = self._generate_unless_abstaining(messages, language, final, held)
        result = self._finish(question, completion, context, hits, language, evidence, seen)
        result.signals["abstain_logprob"] = likely
        result.extra[REPORT_ONLY] = report_only_s
        result.extra[FIRST_SHOWN] = held.first_shown
        if not result.abstained:
            held.release(result.answer)
        elif final:
            held.replace(result.answer)
        return result

    def _messages(self, question: str, language: Language, context: PackedContext) -> list[Message]:
        """The prompt over ``context``, in the configured style: the same for a reading and its check."""
        foreign = context.foreign(language)
        return build_messages(question, language, context.sources, foreign, self.settings.prompt_style)

    def _generate_unless_abstaining(
        self, messages: list[Message], language: Language, final: bool, held: HeldAnswer
    ) -> tuple[Completion, float | None, float]:
        """The reading's completion, or the abstention sentence without generating anything when
        the model's log-probability of it is above the threshold; that log-probability; and the
        seconds spent on it that only a bench report wanted (not part of the latency)."""
        threshold = self._abstention_threshold(language, final)
        wanted = self.settings.self_check or self.measure_abstention  # a report or a router reads it
        if threshold is None:
            if not wanted:
                return self._generate(messages, held), None, 0.0
            if self.for_report:  # after the answer, whose prompt evaluation a user does wait for
                completion = self._generate(messages, held)
                return completion, *self._abstention_logprob(messages, language)
            likely, scoring_s = self._abstention_logprob(messages, language)
            return self._timed_after(self._generate(messages, held), scoring_s), likely, 0.0
        # a gate needs only to know whether it is above: as production does, stop at a bound under
        bounded = not wanted or self.for_report
        likely, scoring_s = self._abstention_logprob(messages, language, threshold if bounded else None)
        if likely is not None and likely > threshold:
            prompt_tokens = self.generator.usage.prompt_tokens
            return Completion(
                text=ABSTAIN[language], tokens=[], model=self.generator.name, prompt_tokens=prompt_tokens,
                ttft_s=scoring_s, total_s=scoring_s, finish_reason="stop",
            ), likely, 0.0  # fmt: skip
        completion = self._timed_after(self._generate(messages, held), scoring_s)
        if not (bounded and likely is not None):
            return completion, likely, 0.0
        if not wanted:
            return completion, None, 0.0  # maybe only a bound: enough to say it is not gated
        exact, report_s = self._abstention_logprob(messages, language)  # the report's exact value
        return completion, exact, report_s

    @staticmethod
    def _timed_after(completion: Completion, scoring_s: float) -> Completion:
        """The abstention's measurement came before the first token: the user waited for it."""
        completion.ttft_s += scoring_s
        completion.total_s += scoring_s
        return completion

    def _abstention_threshold(self, language: Language, final: bool) -> float | None:
        """Above which log P(abstention sentence) a reading counts as an abstention: ``abstain_above``
        (unset: the model's catalog default for the language, if it has one), and for a best-first
        first pass also ``reread_above``; None: never."""
        abstain = self.settings.abstain_above
        if abstain is None and self.settings.prompt_style == "examples":  # what the catalog measured
            entry = CATALOG.get(self.generator.name)
            abstain = dict(entry.abstain_above).get(language) if entry else None
        reread = None if final else self.settings.reread_above
        thresholds = [value for value in (abstain, reread) if value]  # None and 0: never
        return min(thresholds) if thresholds else None

    def _abstention_logprob(
        self, messages: list[Message], language: Language, below: float | None = None
    ) -> tuple[float | None, float]:
        """log P(the reply is the abstention sentence) — with ``below``, perhaps only a bound
        already under it — and the seconds it took; None when the backend cannot score a reply.
        Read from passage [1] alone, on SQuAD2 and PIAF it tells wrong answers and unanswerable
        questions from right answers better than the self-check does (BENCHMARKS.md), before any
        answer token."""
        started = time.perf_counter()
        likely = self.generator.reply_logprob(
            messages,
            abstain_reply(language, self.settings.prompt_style),
            prefix_messages=len(messages) - 1,
            below=below,
        )
        return likely, time.perf_counter() - started

    def _stands(
        self,
        question: str,
        language: Language,
        evidence: list[Evidence] | None,
        seen: set[str] | None,
        context: PackedContext,
    ) -> Callable[[str], bool]:
        """Whether an answer begun with these words would stand the grounding checks of ``_finish``
        (held back, too, while it adds only headings' words: it may become a restatement)."""
        topic = (
            heading_topic(context, language)
            if evidence is not None and language in ABSTAIN_ON_RESTATEMENT
            else frozenset[str]()
        )  # analysed once, not once per streamed token

        def stands(text: str) -> bool:
            if evidence is not None and draws_on(text, question, evidence, language) is not True:
                return False
            if topic and adds_only_topic(text, question, language, topic):
                return False
            return seen is None or not borrows(text, seen, example_names(language))

        return stands

    def _settle(self, question: str, language: Language) -> Callable[[str], tuple[str, int]] | None:
        """How a streamed answer is shown as its trimmed form grows (``trim.settled``); None when
        answers are not trimmed. Replayed on two PIAF and two SQuAD2 samples (BENCHMARKS "Session
        14"), trimming made 12 answers better and 1 worse, correct & answered unchanged."""
        if not self.settings.trim_restated:
            return None
        return functools.partial(settled, question=question, language=language)

    def _evidence(self, context: PackedContext) -> list[Evidence] | None:
        """The passages read, each analysed in its own language, to check that the answer
        comes from them; None when that check is off."""
        if not self.settings.grounded_only:
            return None
        return read_passages(context)

    def _check(self, question: str, language: Language, result: AnswerResult) -> float | None:
        """Ask the model whether its sources really give this answer: P(yes), kept in
        ``signals["self_check"]`` (None when the backend has no logits).

        Small models answer questions the sources nearly answer as confidently as the others;
        asked afterwards, their yes/no tells the two apart much better (BENCHMARKS.md).
        """
        assert result.context is not None and result.completion is not None
        context = result.context
        asked = self._messages(question, language, context)
        checking = check_messages(
            asked, result.completion.text.strip(), question, language, len(result.context.sources)
        )
        yes = self.generator.yes_probability(checking, *YES_NO[language])
        result.signals["self_check"] = yes
        return yes

    def _gate(self, language: Language, result: AnswerResult) -> None:
        """Below ``abstain_below``, the checked answer becomes the abstention sentence."""
        yes, threshold = result.signals.get("self_check"), self.settings.abstain_below
        if not result.abstained and yes is not None and threshold is not None and yes < threshold:
            result.answer, result.abstained, result.citations = ABSTAIN[language], True, []
            result.signals.update(abstained=1.0, grounding=0.0)

    def require_room(self, question: str) -> None:
        """Refuse, before any search, a question that no prompt could hold with a passage and the
        answer: the budget check that answering makes, with the shorter of the two languages'
        rules, so it refuses only what answering would. The server calls it before a stream starts
        (a 6,000-word query takes 30 s to search, and a stream's status cannot change after);
        ``retrieve`` calls it too."""
        self._budget(question.strip(), min(LANGUAGES, key=self._fixed_prompt_tokens))

    def _fixed_prompt_tokens(self, language: Language) -> int:
        """The rules and examples of ``language``, counted once (each question used to count them)."""
        if language not in self._fixed_tokens:
            prompt = fixed_prompt(language, self.settings.prompt_style)
            self._fixed_tokens[language] = self.generator.count_tokens(prompt)
        return self._fixed_tokens[language]

    def _budget(self, question: str, language: Language) -> int:
        """Tokens left for sources: context minus rules, question, answer and a safety margin."""
        context = self.generator.context_size
        question_tokens = self.generator.count_tokens(question)
        overhead = self._fixed_prompt_tokens(language) + question_tokens + 64
        budget = min(self.settings.prompt_budget, context - self.settings.max_tokens - overhead)
        if budget < MIN_PASSAGE_TOKENS and question_tokens > context // 4:
            raise QueryError(
                f"the question is too long ({question_tokens} tokens for a {context}-token context): "
                "ask it in fewer words, or summarise or search the document instead"
            )
        if budget < MIN_PASSAGE_TOKENS:
            raise GenerationError(
                f"context_size {context} is too small for max_tokens "
                f"{self.settings.max_tokens} plus sources; raise context_size or lower max_tokens"
            )
        return budget

    def _generate(self, messages: list[Message], on_token: TokenCallback | None) -> Completion:
        params = GenerationParams(
            max_tokens=self.settings.max_tokens, temperature=0.0, prefix_messages=len(messages) - 1
        )
        return self.generator.complete(messages, params, on_token, until=answer_ended)

    def _finish(
        self,
        question: str,
        completion: Completion,
        context: PackedContext,
        hits: list[Hit],
        language: Language,
        evidence: list[Evidence] | None,
        seen: set[str] | None,
    ) -> AnswerResult:
        """The checked answer: abstention sentence, valid citations, signals. With
        ``grounded_only``, an answer that adds nothing of the passages (``evidence``) to the
        question, that names what only the worked examples hold (not in ``seen``: the words
        of the question and passages), in French that only restates the question, or that cites
        no passage and that no passage supports (SmolLM2 rambles so in a fifth of its SQuAD2
        answers, all wrong), is an abstention."""
        raw = completion.text.strip()
        if (echo := template_echo(raw)) is not None:
            raw = raw[:echo].strip()
        if (looped := first_repeat(raw)) is not None:
            raw = raw[:looped].strip()
        confidence = mean_token_probability(completion)
        if (
            not raw
            or is_abstention(raw)
            or (evidence is not None and draws_on(raw, question, evidence, language) is False)
            or (
                evidence is not None
                and language in ABSTAIN_ON_RESTATEMENT
                and restates(raw, question, language, heading_topic(context, language))
            )
            or (seen is not None and borrows(raw, seen, example_names(language)))
        ):
            answer, citations = ABSTAIN[language], []
            abstained = True
        else:
            answer = remove_invalid(raw, len(context.hits))
            if self.settings.trim_restated:
                answer = trimmed(answer, question, language)
            read = evidence or read_passages(context)
            answer = recited(answer, question, read, language)
            numbers = cited_numbers(answer)  # remove_invalid left only numbers in range
            if not numbers:
                numbers = supporting(answer, read, language)
            citations = [Citation(number, context.hits[number - 1]) for number in numbers]
            abstained = False
            if (
                not citations
                and evidence is not None
                and draws_on(answer, question, evidence, language) is not None
            ):
                answer, abstained = ABSTAIN[language], True  # cites nothing, and nothing read supports it
        signals = compute_signals(
            question, answer, abstained, completion, hits, [c.hit.text for c in citations], language
        )
        return AnswerResult(
            answer=answer, abstained=abstained, language=language, model=self.generator.name,
            citations=citations, confidence=confidence, timings={}, context=context, completion=completion,
            signals=signals,
        )  # fmt: skip

    def _too_weak(self, question: str, hits: list[Hit], language: Language) -> bool:
        """Whether the best passage scores below ``min_score``: it then shares almost nothing
        with the question, which on PIAF questions whose article is not indexed is the best
        single sign of it (ROC AUC 0.90), and a small model would answer from it anyway. A
        question in a third language shares no words with any passage: it is not judged (a
        Spanish question whose answer search ranked first was refused unread)."""
        if self.settings.min_score is None and not reads_as_french_or_english(question):
            return False
        threshold = self._min_score(hits, language)
        return threshold is not None and max(hit.score for hit in hits) < threshold

    def _min_score(self, hits: list[Hit], language: Language) -> float | None:
        """``min_score`` when set (0: never); unset, the automatic gate of coverage fusion.

        With coverage fusion the best dense match alone scores ``dense_weight``, so a best
        score under ``dense_weight + 0.05 × bm25_weight`` means no passage holds more than ~2.5 %
        of the question's IDF weight besides: on all of PIAF dev 1.0 % of the questions fall
        there (the answer in passage [1] for 1 of 2,021), none of SQuAD2's answerable ones,
        and 24 % of PIAF questions whose article is not indexed (BENCHMARKS "Grounded answers").
        Coverage is only known when both retrievers ran; a question in another language than
        the best passage shares no words with it, so it is not judged.
        """
        settings = self.settings
        if settings.min_score is not None:
            return settings.min_score or None
        if any(hit.coverage is None for hit in hits) or any_foreign(hits[:1], language):
            return None
        return settings.dense_weight + AUTO_COVERAGE * COVERAGE_SCALE * settings.bm25_weight

    def _abstain_without_model(self, language: Language, hits: list[Hit], retrieval_s: float) -> AnswerResult:
        """Nothing (or too little) retrieved: the documents cannot contain the answer, no need
        to ask a model. The retrieval signals are kept for bench and routing."""
        return AnswerResult(
            answer=ABSTAIN[language], abstained=True, language=language, model=self.generator.name,
            citations=[], confidence=None, timings={"retrieval_s": retrieval_s, "total_s": retrieval_s},
            signals={**retrieval_signals(hits), "abstained": 1.0},
        )  # fmt: skip
