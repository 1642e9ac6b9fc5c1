import unittest

from server import handle


class HandleTest(unittest.TestCase):
    def test_hello(self):
        status, content_type, body = handle("POST", "/", b"abc")
        self.assertEqual(status, 200)
        self.assertTrue(content_type.startswith("text/plain"))
        self.assertIn(b"3 bytes received", body)


if __name__ == "__main__":
    unittest.main()
