# ruff: noqa: RUF001 - the comments are in other scripts on purpose
"""Accuracy and latency of the server's language detection on short comments.

Runs ``perspective_local.service.languages.rank_languages`` (lingua plus the server's
rules) over a set of short comments built below (English insults, slang and everyday
comments, and short sentences in 19 other languages), for a grid of confidence
thresholds, in lingua's high- and low-accuracy modes. Prints, per setting:

- ``en->[en]``: English comments answered exactly ``["en"]`` (what the English-only
  models need: anything else is a 400 for a client that sends no ``languages``);
- ``other top1``: other comments whose first language is right;
- ``other exact``: other comments answered exactly ``[their language]``;
- the detector's build time, the process's peak memory, and the warm latency per call.

    python benchmarks/languages.py [--thresholds 0.2,0.3,0.4,0.5,0.6] [--modes high,low]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

from perspective_local.service.languages import THRESHOLD, build_detector, rank_languages

ENGLISH = [
    "You are a stupid idiot and a liar",
    "You are an idiot",
    "yo hamburger",
    "lol ok",
    "thanks!",
    "Shut up",
    "what a moron",
    "This is garbage",
    "go to hell",
    "I love this",
    "nice try buddy",
    "wtf is this",
    "Great article, thanks for sharing",
    "you're so dumb",
    "get lost loser",
    "Nobody asked you",
    "This makes no sense",
    "I disagree with the author",
    "Well said",
    "fake news",
    "Totally agree",
    "What kind of idiot name is foo?",
    "the mayor is a crook",
    "idk man",
    "omg yes",
    "Such a pathetic excuse for a journalist",
    "I hope you get fired",
    "Sorry, I like your name.",
    "my cat does the same thing",
    "That is not how taxes work",
    "You clearly did not read the article",
    "Trump 2024",
    "Amen",
    "ok boomer",
    "Bravo!",
    "haha",
    "Liar liar pants on fire",
    "Can someone explain this to me?",
    "This guy is a total clown",
    "best comment ever",
]
OTHERS = {
    "es": [
        "Eres un idiota",
        "No estoy de acuerdo contigo",
        "Qué vergüenza de gobierno",
        "Muchas gracias por la información",
        "Esto es una mentira",
        "¿Dónde está la biblioteca?",
    ],
    "de": [
        "Du bist ein Idiot und das ist nicht gut",
        "Das ist doch völliger Unsinn",
        "Ich stimme dir nicht zu",
        "Vielen Dank für den Artikel",
        "Halt die Klappe",
        "Wo ist der Bahnhof?",
    ],
    "fr": [
        "Je pense que vous avez raison",
        "Tu es vraiment stupide",
        "C'est n'importe quoi",
        "Merci beaucoup pour cet article",
        "Je ne suis pas d'accord",
        "Où est la gare ?",
    ],
    "it": [
        "Sei proprio un cretino",
        "Non sono d'accordo con te",
        "Grazie mille per l'articolo",
        "Questo governo è una vergogna",
        "Che schifo",
    ],
    "pt": [
        "Você é um idiota",
        "Não concordo com você",
        "Muito obrigado pela informação",
        "Isso é uma vergonha",
        "Que governo horrível",
    ],
    "nl": [
        "Je bent een idioot",
        "Ik ben het niet met je eens",
        "Bedankt voor het artikel",
        "Wat een onzin",
        "Dit is echt belachelijk",
    ],
    "sv": [
        "Du är en idiot",
        "Jag håller inte med dig",
        "Tack för artikeln",
        "Vilket skitsnack",
    ],
    "pl": [
        "Jesteś idiotą",
        "Nie zgadzam się z tobą",
        "Dziękuję za artykuł",
        "Co za bzdury",
    ],
    "cs": [
        "Jsi úplný idiot",
        "Nesouhlasím s tebou",
        "Děkuji za článek",
        "To je naprostý nesmysl",
    ],
    "id": [
        "Kamu bodoh sekali",
        "Saya tidak setuju dengan anda",
        "Terima kasih atas artikelnya",
        "Ini tidak masuk akal",
    ],
    "tr": [
        "Sen tam bir aptalsın",
        "Sana katılmıyorum",
        "Makale için teşekkürler",
        "Bu çok saçma",
    ],
    "ru": ["Привет, как дела?", "Ты полный идиот", "Я с тобой не согласен", "Спасибо за статью"],
    "uk": ["Ти повний ідіот", "Я з тобою не згоден", "Дякую за статтю", "Що це за маячня"],
    "ar": ["أنت غبي جدا", "أنا لا أتفق معك", "شكرا على المقال"],
    "zh": ["你是个白痴", "我不同意你的看法", "谢谢你的文章"],
    "ja": ["こんにちは世界", "お前は本当にバカだ", "記事をありがとう"],
    "ko": ["너는 바보야", "나는 동의하지 않아", "기사 감사합니다"],
    "hi": ["तुम बेवकूफ हो", "मैं आपसे सहमत नहीं हूँ", "लेख के लिए धन्यवाद"],
    "el": ["Είσαι ηλίθιος", "Δεν συμφωνώ μαζί σου", "Ευχαριστώ για το άρθρο"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--thresholds", default="0.2,0.3,0.4,0.5,0.6")
    parser.add_argument("--modes", default="high,low")
    args = parser.parse_args()
    thresholds = [float(t) for t in args.thresholds.split(",")]
    others = [(lang, text) for lang, texts in OTHERS.items() for text in texts]
    print(
        f"{len(ENGLISH)} English comments, {len(others)} in {len(OTHERS)} other languages; "
        f"the server's THRESHOLD is {THRESHOLD}"
    )
    for mode in args.modes.split(","):
        started = time.perf_counter()
        detector = build_detector(low_accuracy=mode == "low")
        built = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"\n{mode}-accuracy mode: built in {built:.1f} s, peak RSS {peak:.0f} MB")
        for threshold in thresholds:
            english = [rank_languages(t, detector, threshold) for t in ENGLISH]
            other = [(lang, rank_languages(t, detector, threshold)) for lang, t in others]
            en_ok = sum(found == ["en"] for found in english)
            top1 = sum(bool(found) and found[0] == lang for lang, found in other)
            exact = sum(found == [lang] for lang, found in other)
            print(
                f"  threshold {threshold:.2f}: en->[en] {en_ok}/{len(english)} "
                f"({en_ok / len(english):.0%}), other top1 {top1}/{len(other)} "
                f"({top1 / len(other):.0%}), other exact {exact}/{len(other)} "
                f"({exact / len(other):.0%})"
            )
            if threshold == THRESHOLD:
                wrong = [(t, f) for t, f in zip(ENGLISH, english, strict=True) if f != ["en"]]
                wrong += [(t, f) for (lang, t), (_, f) in zip(others, other, strict=True)
                          if f != [lang]]  # fmt: skip
                for text, found in wrong:
                    print(f"      {text!r} -> {found}")
        texts = ENGLISH + [t for _, t in others]
        timings = []
        for _ in range(5):
            for text in texts:
                started = time.perf_counter()
                rank_languages(text, detector)
                timings.append(time.perf_counter() - started)
        timings.sort()
        print(
            f"  latency per call: mean {statistics.fmean(timings) * 1e3:.3f} ms, "
            f"p50 {timings[len(timings) // 2] * 1e3:.3f} ms, "
            f"p99 {timings[int(len(timings) * 0.99)] * 1e3:.3f} ms, "
            f"max {timings[-1] * 1e3:.3f} ms"
        )
        del detector


if __name__ == "__main__":
    main()
