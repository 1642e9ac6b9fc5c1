fn main() -> std::process::ExitCode {
    rfaas::run(std::env::args_os())
}
