"""docs/PROTOCOL.md's test vectors are what the code produces."""

import os
import unittest

import cove

VECTORS = os.path.join(cove.BUILD, "tests", "tools", "vectors")
DOC = os.path.join(cove.ROOT, "docs", "PROTOCOL.md")


def doc_block():
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    begin = text.index("<!-- vectors:begin -->\n") + len("<!-- vectors:begin -->\n")
    end = text.index("<!-- vectors:end -->")
    block = text[begin:end]
    if not (block.startswith("```\n") and block.endswith("```\n")):
        raise AssertionError("the vectors block is not one fenced code block")
    return block[4:-4]


class ProtocolVectorsTest(unittest.TestCase):
    def test_the_vectors_in_protocol_md_are_exactly_what_the_code_produces(self):
        out = cove.run(VECTORS).stdout
        doc = doc_block()
        if out != doc:
            for i, (a, b) in enumerate(zip(out.splitlines(), doc.splitlines())):
                if a != b:
                    self.fail("docs/PROTOCOL.md differs from the code at vector line %d:\n"
                              "  code: %s\n  doc:  %s\n(scripts/update-vectors.sh "
                              "regenerates the block)" % (i + 1, a, b))
            self.fail("docs/PROTOCOL.md and the code differ in length")

    def test_the_generator_is_deterministic(self):
        self.assertEqual(cove.run(VECTORS).stdout, cove.run(VECTORS).stdout)


if __name__ == "__main__":
    unittest.main()
