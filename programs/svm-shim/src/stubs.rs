//! `SyscallStubs` that route a native processor's syscalls to the live `InvokeContext`.
//!
//! `solana-program` compiled for the host sends CPIs, sysvar reads, return data and
//! `sol_log_data` through a process-wide `SyscallStubs` object. While a processor runs, the
//! builtin publishes its `InvokeContext` in a thread-local ([`enter`]); these stubs use it.
#![allow(unsafe_code)] // A raw pointer to the `InvokeContext` and raw sysvar output pointers.

use {
    crate::builtin::{commit_account_info, to_instruction_error},
    solana_program::{
        account_info::AccountInfo,
        clock::Clock,
        entrypoint::{ProgramResult, SUCCESS},
        epoch_rewards::EpochRewards,
        epoch_schedule::EpochSchedule,
        instruction::{Instruction, InstructionError},
        last_restart_slot::LastRestartSlot,
        program_error::UNSUPPORTED_SYSVAR,
        program_stubs::{SyscallStubs, set_syscall_stubs},
        pubkey::Pubkey,
        rent::Rent,
    },
    solana_program_runtime::{
        invoke_context::InvokeContext, solana_sbpf::vm::ContextObject, stable_log, sysvar_cache::SysvarCache,
    },
    solana_svm_timings::ExecuteTimings,
    std::{
        cell::{Cell, RefCell},
        marker::PhantomData,
        ptr,
        sync::Arc,
    },
};

thread_local! {
    /// The `InvokeContext` of the processor running on this thread, or null.
    static INVOKE_CONTEXT: Cell<*mut ()> = const { Cell::new(ptr::null_mut()) };
    /// The error that aborts the running processor (a failed CPI), until the builtin takes it.
    static ABORT: RefCell<Option<InstructionError>> = const { RefCell::new(None) };
}

pub(crate) fn install() {
    set_syscall_stubs(Box::new(Stubs));
}

/// Publishes `invoke_context` to the stubs until the guard drops (then restores the outer one, so
/// nested native programs work). The guard holds the `&mut` borrow, so the builtin cannot touch
/// the context while the processor may be using it through the stubs.
pub(crate) fn enter<'a>(invoke_context: &'a mut InvokeContext<'_, '_>) -> ActiveContext<'a> {
    let pointer = ptr::from_mut(invoke_context).cast::<()>();
    ActiveContext { previous: INVOKE_CONTEXT.replace(pointer), _borrow: PhantomData }
}

pub(crate) struct ActiveContext<'a> {
    previous: *mut (),
    _borrow: PhantomData<&'a mut ()>,
}

impl Drop for ActiveContext<'_> {
    fn drop(&mut self) {
        INVOKE_CONTEXT.set(self.previous);
    }
}

/// Takes the pending abort error, if a CPI of the processor that just returned failed.
pub(crate) fn take_abort() -> Option<InstructionError> {
    ABORT.take()
}

/// Aborts the running processor, as the runtime does when a CPI fails: the error is parked for the
/// builtin, and the unwind (which skips the panic hook) ends the processor's execution.
fn abort(err: InstructionError) -> ! {
    ABORT.set(Some(err));
    std::panic::resume_unwind(Box::new("CPI failed"));
}

/// Runs `f` on the published `InvokeContext`, or returns `None` outside a processor.
fn with_invoke_context<R>(f: impl FnOnce(&mut InvokeContext<'_, '_>) -> R) -> Option<R> {
    let pointer = INVOKE_CONTEXT.get().cast::<InvokeContext<'static, 'static>>();
    // SAFETY: a non-null pointer was published by `enter` from a live `&mut InvokeContext` whose
    // borrow the `ActiveContext` guard keeps until it unpublishes it, and it is only read on the
    // thread that published it. The lifetimes are erased, but the reference does not escape `f`.
    unsafe { pointer.as_mut() }.map(f)
}

struct Stubs;

impl SyscallStubs for Stubs {
    fn sol_log(&self, message: &str) {
        if with_invoke_context(|ic| stable_log::program_log(&ic.get_log_collector(), message)).is_none() {
            println!("{message}");
        }
    }

    fn sol_log_data(&self, fields: &[&[u8]]) {
        with_invoke_context(|ic| stable_log::program_data(&ic.get_log_collector(), fields));
    }

    fn sol_log_compute_units(&self) {
        with_invoke_context(|ic| {
            let message = format!("Program consumption: {} units remaining", ic.get_remaining());
            ic_log(ic, &message);
        });
    }

    fn sol_remaining_compute_units(&self) -> u64 {
        with_invoke_context(|ic| ic.get_remaining()).unwrap_or(0)
    }

    fn sol_invoke_signed(
        &self,
        instruction: &Instruction,
        account_infos: &[AccountInfo],
        signers_seeds: &[&[&[u8]]],
    ) -> ProgramResult {
        let result = with_invoke_context(|ic| invoke(ic, instruction, account_infos, signers_seeds))
            .expect("kairos-svm-shim: CPI outside a native program run by LiteSVM");
        result.unwrap_or_else(|err| abort(err));
        Ok(())
    }

    fn sol_get_sysvar(&self, sysvar_id: *const u8, var_addr: *mut u8, offset: u64, length: u64) -> u64 {
        const OFFSET_LENGTH_EXCEEDS_SYSVAR: u64 = 1;
        const SYSVAR_NOT_FOUND: u64 = 2;
        with_invoke_context(|ic| {
            // SAFETY: `solana_sysvar::get_sysvar` passes a pointer to a `Pubkey` and a buffer it
            // checked to hold at least `length` bytes.
            let (sysvar_id, out) =
                unsafe { (&*sysvar_id.cast::<Pubkey>(), std::slice::from_raw_parts_mut(var_addr, length as usize)) };
            let Some(bytes) = ic.get_sysvar_cache().sysvar_id_to_buffer(sysvar_id) else {
                return SYSVAR_NOT_FOUND;
            };
            let end = offset.saturating_add(length);
            match bytes.get(offset as usize..end as usize) {
                Some(slice) => {
                    out.copy_from_slice(slice);
                    SUCCESS
                }
                None => OFFSET_LENGTH_EXCEEDS_SYSVAR,
            }
        })
        .unwrap_or(UNSUPPORTED_SYSVAR)
    }

    fn sol_get_clock_sysvar(&self, var_addr: *mut u8) -> u64 {
        write_sysvar::<Clock>(var_addr, SysvarCache::get_clock)
    }

    fn sol_get_rent_sysvar(&self, var_addr: *mut u8) -> u64 {
        write_sysvar::<Rent>(var_addr, SysvarCache::get_rent)
    }

    fn sol_get_epoch_schedule_sysvar(&self, var_addr: *mut u8) -> u64 {
        write_sysvar::<EpochSchedule>(var_addr, SysvarCache::get_epoch_schedule)
    }

    fn sol_get_epoch_rewards_sysvar(&self, var_addr: *mut u8) -> u64 {
        write_sysvar::<EpochRewards>(var_addr, SysvarCache::get_epoch_rewards)
    }

    fn sol_get_last_restart_slot(&self, var_addr: *mut u8) -> u64 {
        write_sysvar::<LastRestartSlot>(var_addr, SysvarCache::get_last_restart_slot)
    }

    fn sol_get_return_data(&self) -> Option<(Pubkey, Vec<u8>)> {
        with_invoke_context(|ic| {
            let (program_id, data) = ic.transaction_context.get_return_data();
            // As on chain: no return data reads as `None`.
            (!data.is_empty()).then(|| (*program_id, data.to_vec()))
        })
        .flatten()
    }

    fn sol_set_return_data(&self, data: &[u8]) {
        with_invoke_context(|ic| {
            let context = &mut ic.transaction_context;
            let program_id = *context.get_current_instruction_context()?.get_program_key()?;
            context.set_return_data(program_id, data.to_vec())
        })
        .transpose()
        .unwrap_or_else(|err| abort(err));
    }

    fn sol_get_stack_height(&self) -> u64 {
        with_invoke_context(|ic| ic.get_stack_height() as u64).unwrap_or(0)
    }
}

fn ic_log(ic: &InvokeContext<'_, '_>, message: &str) {
    stable_log::program_log(&ic.get_log_collector(), message);
}

/// Copies sysvar `T` from the cache to `var_addr`, the address of a `T` owned by `T::get()`.
fn write_sysvar<T: Clone>(var_addr: *mut u8, get: fn(&SysvarCache) -> Result<Arc<T>, InstructionError>) -> u64 {
    let value = with_invoke_context(|ic| get(ic.get_sysvar_cache()).ok()).flatten();
    let Some(value) = value else {
        return UNSUPPORTED_SYSVAR;
    };
    // SAFETY: `impl_sysvar_get!` passes a pointer to its own initialized, aligned `T`. The plain
    // data sysvars read this way need no drop, so overwriting without dropping is fine.
    unsafe { var_addr.cast::<T>().write((*value).clone()) };
    SUCCESS
}

/// A cross-program invocation from the running processor, as the runtime's CPI syscall does it:
/// sync the caller's `AccountInfo`s into the transaction, run the callee, copy the writable
/// accounts back into the `AccountInfo`s.
fn invoke(
    ic: &mut InvokeContext<'_, '_>,
    instruction: &Instruction,
    account_infos: &[AccountInfo],
    signers_seeds: &[&[&[u8]]],
) -> Result<(), InstructionError> {
    let caller = *ic.transaction_context.get_current_instruction_context()?.get_program_key()?;
    let signers = signers_seeds
        .iter()
        .map(|seeds| Pubkey::create_program_address(seeds, &caller).map_err(|_| InstructionError::InvalidSeeds))
        .collect::<Result<Vec<_>, _>>()?;
    ic.prepare_next_instruction(instruction.clone(), &signers)?;

    let mut writable = Vec::new();
    {
        let transaction = &*ic.transaction_context;
        let caller_context = transaction.get_current_instruction_context()?;
        let callee_context = transaction.get_next_instruction_context()?;
        for callee_account in callee_context.instruction_accounts() {
            let index_in_transaction = callee_account.index_in_transaction;
            let key = transaction.get_key_of_account_at_index(index_in_transaction)?;
            let account_info = account_infos.iter().find(|info| info.key == key).ok_or_else(|| {
                ic_log(ic, &format!("Instruction references an account not passed to invoke: {key}"));
                InstructionError::MissingAccount
            })?;
            let index_in_caller = caller_context.get_index_of_account_in_instruction(index_in_transaction)?;
            let mut account = caller_context.try_borrow_instruction_account(index_in_caller)?;
            commit_account_info(&mut account, account_info)?;
            if callee_account.is_writable() {
                writable.push((index_in_caller, account_info));
            }
        }
    }

    let mut compute_units_consumed = 0;
    ic.process_instruction(&mut compute_units_consumed, &mut ExecuteTimings::default())?;

    let caller_context = ic.transaction_context.get_current_instruction_context()?;
    for (index_in_caller, account_info) in writable {
        let account = caller_context.try_borrow_instruction_account(index_in_caller)?;
        **account_info.try_borrow_mut_lamports().map_err(to_instruction_error)? = account.get_lamports();
        if account_info.owner != account.get_owner() {
            account_info.assign(account.get_owner());
        }
        let data = account.get_data();
        if account_info.data_len() != data.len() {
            account_info.resize(data.len()).map_err(to_instruction_error)?;
        }
        account_info.try_borrow_mut_data().map_err(to_instruction_error)?.copy_from_slice(data);
    }
    Ok(())
}
